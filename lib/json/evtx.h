/* SPDX-License-Identifier: MIT */
/*
 * evtx.h - Windows XML event log files (.evtx) read as rows, the shape of
 * Velociraptor's parse_evtx(): {"System": {...}, "EventData": {...}}
 * (or "UserData"), one record at a time.
 *
 * A row's System has Provider {Name, Guid}, EventID {Value} (and
 * Qualifiers), TimeCreated {SystemTime: seconds since 1970 as a number},
 * Execution {ProcessID, ThreadID}, Security {UserID}, Channel, Computer
 * and the numbers Version, Level, Task, Opcode, EventRecordID; EventData
 * has each named Data element as a key (unnamed ones as the list "Data").
 * Text that is a plain decimal integer (no leading zero, at most 15
 * digits) becomes a number, as the typed values of the binary XML are in
 * parse_evtx(); everything else is a string.
 *
 * Reading is streaming: one chunk at a time, its records decoded by
 * json/binxml.h.
 */
#ifndef VC_EVTX_H
#define VC_EVTX_H
#include <stddef.h>
#include <jv.h>
#include "core/vc.h"
#include "json/jsonl.h"

#define VC_EVTX_MAX_FILES 100000                /* files of one directory walk */

/* 1 if path is a regular file that starts with the EVTX signature. */
int vc_evtx_is_file(const char *path);

/*
 * One record's XML (as libevtx renders it) as a row.  Returns the row or
 * an invalid jv with a message (bad XML, too deep).  The reference the
 * native decoder is tested against (tests/unit/t_evtx.c).
 */
jv vc_evtx_xml_row(const char *xml, size_t n);

/*
 * Make r read EVTX: path is one .evtx file, a directory, walked for
 * *.evtx files and *.zip archives (any case) in byte order of their
 * paths (a ZIP found there without .evtx members is passed over, one
 * that cannot be read is one bad line naming it), or a ZIP archive
 * (a triage collection), whose *.evtx members are read in place, in byte
 * order of their names, within the limits of json/zip.h.  Each record
 * comes out of vc_jsonl_next_raw / vc_jsonl_each as one line of JSON;
 * r->name is the file it is from ("ZIP:MEMBER" for a member) and
 * r->line the record's number in that file (from 1).  A member the ZIP
 * refuses (encrypted, too large, a bomb) is one bad line naming it.  A
 * record that cannot be decoded is a bad line: "FILE: record N (chunk
 * C): reason", and reading goes on with the next one; a
 * file that cannot be opened is one bad line naming it.  Returns 0, or
 * VC_ENOTFOUND / VC_EINVAL (ctx says why) when path has no EVTX at all.
 */
int vc_evtx_open(vc_ctx *ctx, struct vc_jsonl *r, const char *path);

#endif
