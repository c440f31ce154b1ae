/* SPDX-License-Identifier: MIT */
/*
 * table.c - the operation table: every operation's role, route, verb and
 * parameters, declared once.  Data only; the dispatcher (dispatch.c), the
 * CLI, vc-serve, the OpenAPI document (openapi.c), the completions and the
 * role tests all read it.
 */
#include <stddef.h>

#include "artifacts.h"
#include "core/audit.h"
#include "auth.h"
#include "cases.h"
#include "hosts.h"
#include "hunt.h"
#include "score/ioc.h"
#include "score/score.h"
#include "ops/ops.h"

#define END { NULL, 0, 0, NULL, NULL, NULL }
#define ROLES3 "admin|analyst|viewer"

static const struct vc_param p_none[] = { END };

static const struct vc_param p_init[] = {
	{ "tenant", VC_T_STR, VC_P_REQ, "NAME", NULL, "name of the first tenant" },
	{ "admin", VC_T_STR, VC_P_REQ, "USER", NULL, "username of the superadmin" },
	{ "email", VC_T_STR, 0, "EMAIL", NULL, "the superadmin's email" },
	{ "password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "the superadmin's password" },
	END
};
static const struct vc_param p_tenant_create[] = {
	{ "name", VC_T_STR, VC_P_POS | VC_P_REQ, "NAME", NULL, "tenant name" },
	{ "allow_registration", VC_T_BOOL, 0, NULL, NULL, "let users register themselves (as viewers)" },
	END
};
static const struct vc_param p_tenant_update[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "TENANT", NULL, "tenant name or id" },
	{ "registration", VC_T_STR, 0, "STATE", "open|closed", "self-registration" },
	END
};
static const struct vc_param p_user_create[] = {
	{ "username", VC_T_STR, VC_P_POS | VC_P_REQ, "USER", NULL, "username (letters, digits, . _ - @)" },
	{ "role", VC_T_STR, VC_P_REQ, "ROLE", ROLES3, "role in the tenant" },
	{ "email", VC_T_STR, 0, "EMAIL", NULL, "email address" },
	{ "tenant", VC_T_STR, 0, "TENANT", NULL, "tenant name or id (superadmin only)" },
	{ "password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "initial password" },
	END
};
static const struct vc_param p_user_list[] = {
	{ "tenant", VC_T_STR, 0, "TENANT", NULL, "only this tenant (superadmin)" },
	{ "role", VC_T_STR, 0, "ROLE", "superadmin|" ROLES3, "only this role" },
	END
};
static const struct vc_param p_user_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "USER", NULL, "username or id" },
	END
};
static const struct vc_param p_user_update[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "USER", NULL, "username or id" },
	{ "role", VC_T_STR, 0, "ROLE", ROLES3, "new role (ends the user's sessions)" },
	{ "email", VC_T_STR, 0, "EMAIL", NULL, "new email address" },
	{ "password", VC_T_STR, VC_P_SECRET, "PASSWORD", NULL, "new password (ends the user's sessions)" },
	END
};
static const struct vc_param p_register[] = {
	{ "username", VC_T_STR, VC_P_POS | VC_P_REQ, "USER", NULL, "username" },
	{ "tenant", VC_T_STR, VC_P_REQ, "TENANT", NULL, "tenant name" },
	{ "email", VC_T_STR, 0, "EMAIL", NULL, "email address" },
	{ "password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "password" },
	END
};
static const struct vc_param p_login[] = {
	{ "username", VC_T_STR, VC_P_POS | VC_P_REQ, "USER", NULL, "username" },
	{ "password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "password" },
	END
};
static const struct vc_param p_refresh[] = {
	{ "refresh_token", VC_T_STR, VC_P_REQ | VC_P_CREDS, "TOKEN", NULL, "the refresh token" },
	END
};
static const struct vc_param p_logout[] = {
	{ "refresh_token", VC_T_STR, VC_P_CREDS, "TOKEN", NULL, "the refresh token" },
	END
};
static const struct vc_param p_password[] = {
	{ "current_password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "the current password" },
	{ "new_password", VC_T_STR, VC_P_REQ | VC_P_SECRET, "PASSWORD", NULL, "the new password" },
	END
};
static const struct vc_param p_token_create[] = {
	{ "name", VC_T_STR, VC_P_POS | VC_P_REQ, "NAME", NULL, "what the token is for" },
	{ "role", VC_T_STR, VC_P_REQ, "ROLE", ROLES3, "role, at most your own" },
	{ "expires", VC_T_DURATION, 0, "DURATION", NULL, "lifetime, e.g. 90d (default), 12h" },
	END
};
static const struct vc_param p_token_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "token id" },
	END
};
static const struct vc_param p_audit_list[] = {
	{ "action", VC_T_STR, 0, "ACTION", NULL, "action, or a prefix such as auth.*" },
	{ "resource_type", VC_T_STR, 0, "TYPE", NULL, "target type (user, tenant, api_token ...)" },
	{ "user", VC_T_STR, 0, "USER", NULL, "acting username or user id" },
	{ "outcome", VC_T_STR, 0, "OUTCOME", "success|failure|denied", "outcome" },
	{ "since", VC_T_TIME, 0, "TIME", NULL, "from this time (RFC 3339, -2h, -7d)" },
	{ "until", VC_T_TIME, 0, "TIME", NULL, "up to this time" },
	{ "limit", VC_T_INT, 0, "N", NULL, "at most N records (default 100, max 1000)" },
	{ "order", VC_T_STR, 0, "ORDER", "asc|desc", "oldest or newest first (default desc)" },
	{ "tenant_id", VC_T_STR, 0, "TENANT_ID", NULL, "only this tenant (superadmin)" },
	END
};
static const struct vc_param p_audit_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "audit record id" },
	END
};
static const struct vc_param p_audit_verify[] = {
	{ "tenant_id", VC_T_STR, 0, "TENANT_ID", NULL, "only this tenant's chain (superadmin)" },
	END
};

static const struct vc_param p_hosts_import[] = {
	{ "file", VC_T_STR, VC_P_POS | VC_P_CLI, "FILE", NULL, "JSONL input (default: stdin, or -)" },
	{ "source", VC_T_STR, 0, "SOURCE", "velociraptor|generic", "record shape (default: per record)" },
	{ "strict", VC_T_BOOL, 0, NULL, NULL, "stop at the first bad line and keep nothing of its batch" },
	END
};
static const struct vc_param p_hosts_list[] = {
	{ "hostname", VC_T_STR, 0, "SUBSTR", NULL, "hostname contains this (any case)" },
	{ "ip", VC_T_STR, 0, "ADDR|CIDR", NULL, "address or network (10.0.0.0/8, fd00::/8)" },
	{ "os", VC_T_STR, 0, "OS", NULL, "windows, linux, darwin ..." },
	{ "label", VC_T_STR, 0, "LABEL", NULL, "has this label" },
	{ "client_id", VC_T_STR, 0, "CLIENT_ID", NULL, "Velociraptor client id" },
	{ "seen_since", VC_T_TIME, 0, "TIME", NULL, "last seen at or after (RFC 3339, -2h, -7d)" },
	{ "sort", VC_T_STR, 0, "FIELD", "hostname|ip|os|last_seen|first_seen|created_at", "sort field (default hostname)" },
	{ "order", VC_T_STR, 0, "ORDER", "asc|desc", "sort order (default asc)" },
	{ "limit", VC_T_INT, 0, "N", NULL, "page size (default 100, max 1000)" },
	{ "offset", VC_T_INT, 0, "N", NULL, "skip N hosts" },
	{ "after", VC_T_STR, 0, "CURSOR", NULL, "continue after this cursor (next_cursor of a page)" },
	{ "count", VC_T_BOOL, 0, NULL, NULL, "print only the number of matching hosts" },
	END
};
static const struct vc_param p_host_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "host id or Velociraptor client id" },
	END
};
static const struct vc_param p_hosts_update[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "host id or Velociraptor client id" },
	{ "label", VC_T_STR, VC_P_MULTI, "+L|-L", NULL, "add (+L) or remove (-L) a label; repeatable" },
	{ "note", VC_T_STR, 0, "TEXT", NULL, "replace the host's note" },
	END
};
#define CASE_STATUS "open|in_progress|closed"
#define SEVERITY "low|medium|high|critical"
static const struct vc_param p_case_create[] = {
	{ "title", VC_T_STR, VC_P_POS | VC_P_REQ, "TITLE", NULL, "one-line title" },
	{ "description", VC_T_STR, 0, "TEXT", NULL, "what the case is about" },
	{ "severity", VC_T_STR, 0, "SEVERITY", SEVERITY, "severity (default medium)" },
	{ "assignee", VC_T_STR, 0, "USER", NULL, "username of the analyst in charge" },
	{ "tag", VC_T_STR, VC_P_MULTI, "TAG", NULL, "a tag; repeatable" },
	END
};
static const struct vc_param p_case_list[] = {
	{ "status", VC_T_STR, 0, "STATUS", CASE_STATUS, "only this status" },
	{ "severity", VC_T_STR, 0, "SEVERITY", SEVERITY, "only this severity" },
	{ "assignee", VC_T_STR, 0, "USER", NULL, "only cases of this assignee" },
	{ "tag", VC_T_STR, 0, "TAG", NULL, "only cases with this tag" },
	{ "text", VC_T_STR, 0, "TEXT", NULL, "title or description contains this (any case)" },
	{ "sort", VC_T_STR, 0, "FIELD", "created_at|updated_at|severity|status|title", "sort field (default created_at)" },
	{ "order", VC_T_STR, 0, "ORDER", "asc|desc", "sort order (default desc)" },
	{ "limit", VC_T_INT, 0, "N", NULL, "page size (default 100, max 1000)" },
	{ "offset", VC_T_INT, 0, "N", NULL, "skip N cases" },
	{ "after", VC_T_STR, 0, "CURSOR", NULL, "continue after this cursor" },
	END
};
static const struct vc_param p_case_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "case id" },
	END
};
static const struct vc_param p_case_update[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "case id" },
	{ "title", VC_T_STR, 0, "TITLE", NULL, "new title" },
	{ "description", VC_T_STR, 0, "TEXT", NULL, "new description" },
	{ "status", VC_T_STR, 0, "STATUS", CASE_STATUS, "new status" },
	{ "severity", VC_T_STR, 0, "SEVERITY", SEVERITY, "new severity" },
	{ "assignee", VC_T_STR, 0, "USER", NULL, "new assignee (empty to clear)" },
	{ "tag", VC_T_STR, VC_P_MULTI, "+T|-T", NULL, "add (+T) or remove (-T) a tag; repeatable" },
	END
};
static const struct vc_param p_case_close[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "case id" },
	{ "resolution", VC_T_STR, VC_P_REQ, "TEXT", NULL, "how the case ended" },
	END
};
static const struct vc_param p_case_note[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "case id" },
	{ "body", VC_T_STR, VC_P_POS | VC_P_REQ, "TEXT", NULL, "the note (append-only)" },
	END
};
static const struct vc_param p_case_link[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "case id" },
	{ "host", VC_T_STR, 0, "HOST", NULL, "host id or client id" },
	{ "artifact", VC_T_STR, 0, "ARTIFACT", NULL, "artifact id" },
	END
};

static const struct vc_param p_art_import[] = {
	{ "file", VC_T_STR, VC_P_POS | VC_P_CLI, "FILE", NULL, "JSONL rows (default: stdin, or -)" },
	{ "name", VC_T_STR, VC_P_REQ, "ARTIFACT", NULL, "artifact name, e.g. Windows.System.Pslist" },
	{ "host", VC_T_STR, 0, "HOST", NULL, "host id or client id the rows come from" },
	{ "case", VC_T_STR, 0, "CASE", NULL, "case to link the artifact to" },
	{ "flow", VC_T_STR, 0, "FLOW_ID", NULL, "Velociraptor flow id (F.x)" },
	{ "hunt", VC_T_STR, 0, "HUNT_ID", NULL, "Velociraptor hunt id (H.x)" },
	{ "strict", VC_T_BOOL, 0, NULL, NULL, "stop at the first bad line and keep nothing of its batch" },
	END
};
static const struct vc_param p_art_list[] = {
	{ "name", VC_T_STR, 0, "ARTIFACT", NULL, "only this artifact name" },
	{ "host", VC_T_STR, 0, "HOST", NULL, "only artifacts of this host (id or client id)" },
	{ "case", VC_T_STR, 0, "CASE", NULL, "only artifacts of this case" },
	{ "hunt", VC_T_STR, 0, "HUNT_ID", NULL, "only this hunt" },
	{ "flow", VC_T_STR, 0, "FLOW_ID", NULL, "only this flow" },
	{ "sort", VC_T_STR, 0, "FIELD", "created_at|name|row_count", "sort field (default created_at)" },
	{ "order", VC_T_STR, 0, "ORDER", "asc|desc", "sort order (default desc)" },
	{ "limit", VC_T_INT, 0, "N", NULL, "page size (default 100, max 1000)" },
	{ "offset", VC_T_INT, 0, "N", NULL, "skip N artifacts" },
	{ "after", VC_T_STR, 0, "CURSOR", NULL, "continue after this cursor" },
	END
};
static const struct vc_param p_art_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "artifact id" },
	END
};
static const struct vc_param p_art_rows[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "artifact id" },
	{ "where", VC_T_STR, 0, "JQ_EXPR", NULL, "keep rows for which this jq expression is true" },
	{ "host", VC_T_STR, 0, "HOST", NULL, "only rows of this host (id or client id)" },
	{ "limit", VC_T_INT, 0, "N", NULL, "at most N rows (HTTP: default 10000)" },
	{ "offset", VC_T_INT, 0, "N", NULL, "skip N rows" },
	END
};
static const struct vc_param p_vr_config_set[] = {
	{ "api_config", VC_T_STR, VC_P_REQ | VC_P_FILE, "FILE", NULL,
	  "API client config YAML made by `velociraptor config api_client`" },
	{ "org", VC_T_STR, 0, "ORG_ID", NULL, "Velociraptor org to query (default: root)" },
	END
};
static const struct vc_param p_vr_clients[] = {
	{ "search", VC_T_STR, 0, "QUERY", NULL, "Velociraptor client search (host:NAME, label:L, C.id ...)" },
	{ "label", VC_T_STR, 0, "LABEL", NULL, "clients with this label" },
	{ "sync", VC_T_BOOL, VC_P_CLI, NULL, NULL, "upsert the clients into the tenant's hosts (analyst)" },
	END
};
static const struct vc_param p_vr_sync[] = {
	{ "search", VC_T_STR, 0, "QUERY", NULL, "Velociraptor client search (host:NAME, label:L, C.id ...)" },
	{ "label", VC_T_STR, 0, "LABEL", NULL, "clients with this label" },
	END
};
static const struct vc_param p_vr_client[] = {
	{ "client_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "CLIENT_ID", NULL, "Velociraptor client id" },
	END
};
static const struct vc_param p_vr_collect[] = {
	{ "client", VC_T_STR, VC_P_REQ, "CLIENT_ID", NULL, "the client to collect from" },
	{ "artifact", VC_T_STR, VC_P_REQ, "NAME", NULL, "artifact to collect" },
	{ "param", VC_T_STR, VC_P_MULTI, "KEY=VALUE", NULL, "an artifact parameter; repeatable" },
	{ "timeout", VC_T_DURATION, 0, "DURATION", NULL, "how long to wait (default 600s)" },
	{ "wait", VC_T_BOOL, 0, NULL, NULL, "wait until the flow finishes (exit 75 on timeout)" },
	{ "store", VC_T_BOOL, 0, NULL, NULL, "wait, then keep the results as an artifact" },
	{ "case", VC_T_STR, 0, "CASE", NULL, "with --store: link the artifact to this case" },
	END
};
static const struct vc_param p_vr_flow[] = {
	{ "client_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "CLIENT_ID", NULL, "Velociraptor client id" },
	{ "flow_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "FLOW_ID", NULL, "flow id (F.x)" },
	END
};
static const struct vc_param p_vr_flow_results[] = {
	{ "client_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "CLIENT_ID", NULL, "Velociraptor client id" },
	{ "flow_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "FLOW_ID", NULL, "flow id (F.x)" },
	{ "artifact", VC_T_STR, VC_P_REQ, "NAME[/SOURCE]", NULL, "artifact (and source) of the results" },
	{ "store", VC_T_BOOL, 0, NULL, NULL, "also keep the rows as an artifact (analyst)" },
	{ "case", VC_T_STR, 0, "CASE", NULL, "with --store: link the artifact to this case" },
	END
};
static const struct vc_param p_vr_hunt_create[] = {
	{ "artifact", VC_T_STR, VC_P_REQ, "NAME", NULL, "artifact to hunt for" },
	{ "param", VC_T_STR, VC_P_MULTI, "KEY=VALUE", NULL, "an artifact parameter; repeatable" },
	{ "description", VC_T_STR, 0, "TEXT", NULL, "what the hunt is for" },
	{ "expires", VC_T_DURATION, 0, "DURATION", NULL, "lifetime (default 7d)" },
	{ "label", VC_T_STR, 0, "LABEL", NULL, "only clients with this label" },
	{ "os", VC_T_STR, 0, "OS", "windows|linux|darwin", "only clients of this OS" },
	{ "idempotency_key", VC_T_STR, 0, "KEY", NULL, "a rerun with this key returns the same hunt" },
	{ "wait", VC_T_BOOL, 0, NULL, NULL, "wait until every scheduled client finished" },
	{ "timeout", VC_T_DURATION, 0, "DURATION", NULL, "with --wait: how long (default 1h)" },
	END
};
static const struct vc_param p_vr_hunt_id[] = {
	{ "hunt_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "HUNT_ID", NULL, "hunt id (H.x)" },
	END
};
static const struct vc_param p_vr_hunt_results[] = {
	{ "hunt_id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "HUNT_ID", NULL, "hunt id (H.x)" },
	{ "artifact", VC_T_STR, 0, "NAME[/SOURCE]", NULL, "artifact (and source) of the results" },
	{ "store", VC_T_BOOL, 0, NULL, NULL, "also keep the rows as an artifact (analyst)" },
	{ "case", VC_T_STR, 0, "CASE", NULL, "with --store: link the artifact to this case" },
	END
};
static const struct vc_param p_vr_query[] = {
	{ "vql", VC_T_STR, VC_P_POS | VC_P_REQ, "VQL", NULL, "the VQL to run; values belong in --env" },
	{ "env", VC_T_STR, VC_P_MULTI, "KEY=VALUE", NULL, "a query variable; repeatable" },
	{ "timeout", VC_T_DURATION, 0, "DURATION", NULL, "server-side timeout (default 600s)" },
	END
};
static const struct vc_param p_ioc_import[] = {
	{ "file", VC_T_STR, VC_P_POS | VC_P_CLI, "FILE", NULL, "CSV or JSONL of IOCs (default: stdin, or -)" },
	{ "severity", VC_T_STR, 0, "SEVERITY", "low|medium|high|critical", "for lines that give none (default high)" },
	{ "source", VC_T_STR, 0, "SOURCE", NULL, "for lines that give none: where the IOCs come from" },
	END
};
static const struct vc_param p_ioc_list[] = {
	{ "type", VC_T_STR, 0, "TYPE", "sha256|sha1|md5|ip|cidr|domain|filename|path", "only this type" },
	END
};
static const struct vc_param p_ioc_id[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "IOC id" },
	END
};

#define CLASSES "benign|low|medium|high|critical"
static const struct vc_param p_score[] = {
	{ "file", VC_T_STR, VC_P_POS | VC_P_CLI, "FILE", NULL, "JSONL rows (default: stdin, or -)" },
	{ "rules", VC_T_STR, VC_P_MULTI | VC_P_CLI, "DIR|FILE", NULL, "Sigma rules; repeatable; \"default\" names the shipped set, \"none\" no rules (default: $VC_RULES, else the shipped set)" },
	{ "iocs", VC_T_STR, VC_P_MULTI | VC_P_CLI, "FILE", NULL,
	  "an IOC feed (CSV or JSONL) for this run, besides the tenant's list; repeatable" },
	{ "map", VC_T_STR, VC_P_CLI, "FILE", NULL, "field map replacing the built-in one" },
	{ "min", VC_T_STR, 0, "LEVEL", CLASSES, "drop rows classified below LEVEL" },
	{ "fail_on", VC_T_STR, 0, "LEVEL", CLASSES, "exit 1 when a row reaches LEVEL" },
	{ "stack_by", VC_T_STR, 0, "FIELDS", NULL, "rarity across the input by these fields (Name or Exe,Hash.SHA256)" },
	{ "max_hosts", VC_T_INT, 0, "N", NULL, "with --stack-by: keys on at most N hosts are rare (default 1)" },
	END
};
static const struct vc_param p_stack[] = {
	{ "file", VC_T_STR, VC_P_POS | VC_P_CLI, "FILE", NULL, "JSONL rows (default: stdin, or -)" },
	{ "by", VC_T_STR, VC_P_REQ, "FIELDS", NULL, "FIELD[,FIELD...] that make the key" },
	{ "max_hosts", VC_T_INT, 0, "N", NULL, "only keys seen on at most N hosts" },
	{ "stored", VC_T_BOOL, 0, NULL, NULL, "stack the tenant's stored artifacts instead of the input" },
	{ "artifact", VC_T_STR, 0, "NAME", NULL, "with --stored: only artifacts of this name" },
	END
};
static const struct vc_param p_analyze[] = {
	{ "id", VC_T_STR, VC_P_POS | VC_P_REQ | VC_P_PATH, "ID", NULL, "host id or client id / artifact id" },
	{ "rules", VC_T_STR, VC_P_MULTI | VC_P_CLI, "DIR|FILE", NULL, "Sigma rules; repeatable; \"default\" names the shipped set, \"none\" no rules (default: $VC_RULES, else the shipped set)" },
	{ "map", VC_T_STR, VC_P_CLI, "FILE", NULL, "field map replacing the built-in one" },
	END
};
static const struct vc_param p_scores[] = {
	{ "subject", VC_T_STR, 0, "KIND", "host|artifact", "only scores of hosts or of artifacts" },
	{ "classification", VC_T_STR, 0, "CLASS", CLASSES, "only this classification" },
	{ "min_score", VC_T_STR, 0, "X", NULL, "only scores of at least X (0 to 1)" },
	{ "since", VC_T_TIME, 0, "TIME", NULL, "only analyses since (RFC 3339, -7d)" },
	{ "limit", VC_T_INT, 0, "N", NULL, "at most N (default 100, max 1000)" },
	END
};
static const struct vc_param p_rules_list[] = {
	{ "rules", VC_T_STR, VC_P_MULTI | VC_P_CLI, "DIR|FILE", NULL, "Sigma rules; repeatable; \"default\" names the shipped set (default: $VC_RULES, else the shipped set)" },
	{ "map", VC_T_STR, VC_P_CLI, "FILE", NULL, "field map replacing the built-in one" },
	END
};
static const struct vc_param p_rules_check[] = {
	{ "path", VC_T_STR, VC_P_POS | VC_P_REQ, "DIR", NULL, "a rule directory or file" },
	{ "map", VC_T_STR, 0, "FILE", NULL, "field map replacing the built-in one" },
	END
};

const struct vc_op vc_ops[] = {
	{ "auth.init", "vc-auth", "init", NULL, NULL, VC_ROLE_ANON,
	  VC_OP_WRITE | VC_OP_PUBLIC | VC_OP_NOSTORE, vc_op_init, p_init,
	  "create the store, the first tenant and its superadmin", "tenant" },
	{ "auth.tenants.create", "vc-auth", "tenant create", "POST", "/api/tenants", VC_ROLE_SUPERADMIN,
	  VC_OP_WRITE, vc_op_tenant_create, p_tenant_create, "create a tenant", "tenant" },
	{ "auth.tenants.list", "vc-auth", "tenant list", "GET", "/api/tenants", VC_ROLE_ADMIN,
	  0, vc_op_tenant_list, p_none, "list tenants (admins see their own)", "tenant", "name,allow_registration,created_at,id" },
	{ "auth.tenants.update", "vc-auth", "tenant update", "PUT", "/api/tenants/{id}", VC_ROLE_SUPERADMIN,
	  VC_OP_WRITE, vc_op_tenant_update, p_tenant_update, "change a tenant's settings", "tenant" },
	{ "auth.users.create", "vc-auth", "user create", "POST", "/api/users", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_user_create, p_user_create, "create a user", "user" },
	{ "auth.users.list", "vc-auth", "user list", "GET", "/api/users", VC_ROLE_ADMIN,
	  0, vc_op_user_list, p_user_list, "list users", "user", "username,role,tenant,email,disabled,last_login_at,id" },
	{ "auth.users.show", "vc-auth", "user show", "GET", "/api/users/{id}", VC_ROLE_ADMIN,
	  0, vc_op_user_show, p_user_id, "show a user", "user" },
	{ "auth.users.update", "vc-auth", "user update", "PUT", "/api/users/{id}", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_user_update, p_user_update, "change a user's role, email or password", "user" },
	{ "auth.users.disable", "vc-auth", "user disable", "POST", "/api/users/{id}/disable", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_user_disable, p_user_id, "disable a user and end their sessions", "user" },
	{ "auth.users.enable", "vc-auth", "user enable", "POST", "/api/users/{id}/enable", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_user_enable, p_user_id, "enable a disabled user", "user" },
	{ "auth.register", "vc-auth", "register", "POST", "/api/auth/register", VC_ROLE_ANON,
	  VC_OP_WRITE | VC_OP_PUBLIC, vc_op_register, p_register,
	  "register as a viewer in a tenant that allows it", "user" },
	{ "auth.login", "vc-auth", "login", "POST", "/api/auth/login", VC_ROLE_ANON,
	  VC_OP_WRITE | VC_OP_PUBLIC | VC_OP_RAW | VC_OP_LOGIN | VC_OP_SECRET_OUT, vc_op_login, p_login,
	  "log in: get an access token and a refresh token", "user" },
	{ "auth.me", "vc-auth", "whoami", "GET", "/api/auth/me", VC_ROLE_VIEWER,
	  0, vc_op_whoami, p_none, "show who you are", "user" },
	{ "auth.refresh", "vc-auth", "refresh", "POST", "/api/auth/refresh", VC_ROLE_ANON,
	  VC_OP_WRITE | VC_OP_PUBLIC | VC_OP_RAW | VC_OP_LOGIN | VC_OP_SECRET_OUT, vc_op_refresh, p_refresh,
	  "trade the refresh token for new tokens", "user" },
	{ "auth.logout", "vc-auth", "logout", "POST", "/api/auth/logout", VC_ROLE_ANON,
	  VC_OP_WRITE | VC_OP_PUBLIC | VC_OP_LOGOUT, vc_op_logout, p_logout,
	  "end the session (revokes the refresh token family)", "user" },
	{ "auth.password", "vc-auth", "passwd", "POST", "/api/auth/password", VC_ROLE_VIEWER,
	  VC_OP_WRITE, vc_op_password, p_password,
	  "change your password (ends all your sessions)", "user" },
	{ "auth.tokens.create", "vc-auth", "token create", "POST", "/api/tokens", VC_ROLE_ANALYST,
	  VC_OP_WRITE | VC_OP_SECRET_OUT, vc_op_token_create, p_token_create,
	  "create an API token for cron or CI (shown once)", "api_token" },
	{ "auth.tokens.list", "vc-auth", "token list", "GET", "/api/tokens", VC_ROLE_ANALYST,
	  0, vc_op_token_list, p_none, "list API tokens (admins: the tenant's)", "api_token", "id,name,role,prefix,owner,expires_at,last_used_at,revoked_at" },
	{ "auth.tokens.revoke", "vc-auth", "token revoke", "DELETE", "/api/tokens/{id}", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_token_revoke, p_token_id, "revoke an API token", "api_token" },
	{ "auth.keys.rotate", "vc-auth", "key rotate", NULL, NULL, VC_ROLE_SUPERADMIN,
	  VC_OP_WRITE, vc_op_key_rotate, p_none,
	  "add a new installation key; older keys keep verifying", "key" },
	{ "audit.list", "vc-auth", "audit list", "GET", "/api/audit", VC_ROLE_ADMIN,
	  0, vc_op_audit_list, p_audit_list, "list audit records", "audit", "id,time,actor,action,target_type,target_id,outcome,reason,ip" },
	{ "audit.verify", "vc-auth", "audit verify", "GET", "/api/audit/verify", VC_ROLE_ADMIN,
	  0, vc_op_audit_verify, p_audit_verify, "check the audit hash chain", "audit" },
	{ "audit.show", "vc-auth", "audit show", "GET", "/api/audit/{id}", VC_ROLE_ADMIN,
	  0, vc_op_audit_show, p_audit_id, "show one audit record", "audit" },
	{ "hosts.import", "vc-hosts", "import", "POST", "/api/hosts/import", VC_ROLE_ANALYST,
	  VC_OP_WRITE | VC_OP_RAW | VC_OP_INPUT, vc_op_hosts_import, p_hosts_import,
	  "import hosts from JSONL (upsert by client_id, else hostname)", "host" },
	{ "hosts.list", "vc-hosts", "list", "GET", "/api/hosts", VC_ROLE_VIEWER,
	  0, vc_op_hosts_list, p_hosts_list, "list hosts: filter, sort, page", "host",
	  "hostname,ip,os,os_version,labels,last_seen_at,client_id,id" },
	{ "hosts.show", "vc-hosts", "show", "GET", "/api/hosts/{id}", VC_ROLE_VIEWER,
	  0, vc_op_hosts_show, p_host_id, "show a host", "host" },
	{ "hosts.update", "vc-hosts", "update", "PUT", "/api/hosts/{id}", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_hosts_update, p_hosts_update, "change a host's labels or note", "host" },
	{ "hosts.delete", "vc-hosts", "delete", "DELETE", "/api/hosts/{id}", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_hosts_delete, p_host_id, "delete a host", "host" },
	{ "cases.create", "vc-case", "create", "POST", "/api/cases", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_create, p_case_create, "open a case", "case" },
	{ "cases.list", "vc-case", "list", "GET", "/api/cases", VC_ROLE_VIEWER,
	  0, vc_op_cases_list, p_case_list, "list cases: filter, sort, page", "case",
	  "id,title,status,severity,assignee,tags,updated_at" },
	{ "cases.show", "vc-case", "show", "GET", "/api/cases/{id}", VC_ROLE_VIEWER,
	  0, vc_op_cases_show, p_case_id, "show a case with its links", "case" },
	{ "cases.update", "vc-case", "update", "PUT", "/api/cases/{id}", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_update, p_case_update,
	  "change a case's title, description, status, severity, assignee or tags", "case" },
	{ "cases.close", "vc-case", "close", "POST", "/api/cases/{id}/close", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_close, p_case_close, "close a case with a resolution", "case" },
	{ "cases.delete", "vc-case", "delete", "DELETE", "/api/cases/{id}", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_cases_delete, p_case_id, "delete a case and its notes", "case" },
	{ "cases.note", "vc-case", "note", "POST", "/api/cases/{id}/notes", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_note, p_case_note, "add a note to the case timeline", "case" },
	{ "cases.notes", "vc-case", "notes", "GET", "/api/cases/{id}/notes", VC_ROLE_VIEWER,
	  0, vc_op_cases_notes, p_case_id, "the case timeline, oldest first", "case",
	  "id,created_at,author,kind,body" },
	{ "cases.link", "vc-case", "link", "POST", "/api/cases/{id}/links", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_link, p_case_link, "link a host or an artifact to a case", "case" },
	{ "cases.unlink", "vc-case", "unlink", "POST", "/api/cases/{id}/unlink", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_cases_unlink, p_case_link, "remove a link from a case", "case" },
	{ "artifacts.import", "vc-case", "artifact import", "POST", "/api/artifacts", VC_ROLE_ANALYST,
	  VC_OP_WRITE | VC_OP_RAW | VC_OP_INPUT, vc_op_artifacts_import, p_art_import,
	  "store JSONL rows as an artifact (streamed, batched)", "artifact" },
	{ "artifacts.list", "vc-case", "artifact list", "GET", "/api/artifacts", VC_ROLE_VIEWER,
	  0, vc_op_artifacts_list, p_art_list, "list artifacts", "artifact",
	  "id,name,host,case_id,hunt_id,flow_id,row_count,state,created_at" },
	{ "artifacts.show", "vc-case", "artifact show", "GET", "/api/artifacts/{id}", VC_ROLE_VIEWER,
	  0, vc_op_artifacts_show, p_art_id, "show an artifact", "artifact" },
	{ "artifacts.rows", "vc-case", "artifact rows", "GET", "/api/artifacts/{id}/rows", VC_ROLE_VIEWER,
	  0, vc_op_artifacts_rows, p_art_rows, "an artifact's rows as JSONL, optionally filtered with jq",
	  "artifact" },
	{ "artifacts.delete", "vc-case", "artifact delete", "DELETE", "/api/artifacts/{id}", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_artifacts_delete, p_art_id, "delete an artifact and its rows", "artifact" },
	{ "velociraptor.config.set", "vc-hunt", "config set", "POST", "/api/velociraptor/config", VC_ROLE_ADMIN,
	  VC_OP_WRITE, vc_op_vr_config_set, p_vr_config_set,
	  "store the tenant's Velociraptor API client config (key sealed at rest)", "velociraptor_config" },
	{ "velociraptor.config.show", "vc-hunt", "config show", "GET", "/api/velociraptor/config", VC_ROLE_ADMIN,
	  0, vc_op_vr_config_show, p_none, "show the config (never the key)", "velociraptor_config" },
	{ "velociraptor.config.test", "vc-hunt", "config test", "POST", "/api/velociraptor/config/test",
	  VC_ROLE_ANALYST, 0, vc_op_vr_config_test, p_none,
	  "run a trivial query: server, TLS version, latency", "velociraptor_config" },
	{ "velociraptor.config.delete", "vc-hunt", "config delete", "DELETE", "/api/velociraptor/config",
	  VC_ROLE_ADMIN, VC_OP_WRITE, vc_op_vr_config_delete, p_none, "forget the config",
	  "velociraptor_config" },
	{ "velociraptor.clients", "vc-hunt", "clients", "GET", "/api/velociraptor/clients", VC_ROLE_VIEWER,
	  VC_OP_RAW, vc_op_vr_clients, p_vr_clients, "Velociraptor's clients (--sync: into hosts)", "host",
	  "client_id,os_info,last_ip,labels" },
	{ "velociraptor.clients.sync", "vc-hunt", NULL, "POST", "/api/velociraptor/clients/sync",
	  VC_ROLE_ANALYST, VC_OP_WRITE | VC_OP_RAW, vc_op_vr_clients_sync, p_vr_sync,
	  "upsert Velociraptor's clients into the tenant's hosts", "host" },
	{ "velociraptor.client", "vc-hunt", "client", "GET", "/api/velociraptor/clients/{client_id}",
	  VC_ROLE_VIEWER, 0, vc_op_vr_client, p_vr_client, "one Velociraptor client", "host" },
	{ "velociraptor.collect", "vc-hunt", "collect", "POST", "/api/velociraptor/collect", VC_ROLE_ANALYST,
	  VC_OP_WRITE | VC_OP_RAW, vc_op_vr_collect, p_vr_collect, "collect an artifact from a client", "flow" },
	{ "velociraptor.flow", "vc-hunt", "flow", "GET", "/api/velociraptor/clients/{client_id}/flows/{flow_id}",
	  VC_ROLE_VIEWER, 0, vc_op_vr_flow, p_vr_flow, "a flow's state", "flow" },
	{ "velociraptor.flow.results", "vc-hunt", "flow results", "GET",
	  "/api/velociraptor/clients/{client_id}/flows/{flow_id}/results", VC_ROLE_VIEWER,
	  VC_OP_RAW, vc_op_vr_flow_results, p_vr_flow_results, "a flow's result rows", "flow" },
	{ "velociraptor.hunts.create", "vc-hunt", "create", "POST", "/api/velociraptor/hunts", VC_ROLE_ADMIN,
	  VC_OP_WRITE | VC_OP_RAW, vc_op_vr_hunt_create, p_vr_hunt_create, "start a hunt", "hunt" },
	{ "velociraptor.hunts.list", "vc-hunt", "list", "GET", "/api/velociraptor/hunts", VC_ROLE_VIEWER,
	  0, vc_op_vr_hunts_list, p_none, "Velociraptor's hunts", "hunt",
	  "hunt_id,hunt_description,state,create_time,artifacts" },
	{ "velociraptor.hunts.show", "vc-hunt", "show", "GET", "/api/velociraptor/hunts/{hunt_id}",
	  VC_ROLE_VIEWER, 0, vc_op_vr_hunt_show, p_vr_hunt_id, "one hunt with its progress", "hunt" },
	{ "velociraptor.hunts.stop", "vc-hunt", "stop", "POST", "/api/velociraptor/hunts/{hunt_id}/stop",
	  VC_ROLE_ADMIN, VC_OP_WRITE | VC_OP_RAW, vc_op_vr_hunt_stop, p_vr_hunt_id, "stop a hunt", "hunt" },
	{ "velociraptor.hunts.results", "vc-hunt", "results", "GET", "/api/velociraptor/hunts/{hunt_id}/results",
	  VC_ROLE_VIEWER, VC_OP_RAW, vc_op_vr_hunt_results, p_vr_hunt_results,
	  "a hunt's result rows (with ClientId, FlowId, Fqdn)", "hunt" },
	{ "velociraptor.query", "vc-hunt", "query", "POST", "/api/velociraptor/query", VC_ROLE_ADMIN,
	  VC_OP_RAW, vc_op_vr_query, p_vr_query, "run any VQL (values through --env)", "query" },
	{ "threat.score", "vc-score", "", "POST", "/api/threat-intel/score", VC_ROLE_VIEWER,
	  VC_OP_INPUT, vc_op_score, p_score, "score JSONL rows: each comes out with vc_score added", "score" },
	{ "threat.stack", "vc-score", "stack", NULL, NULL, VC_ROLE_VIEWER,
	  VC_OP_INPUT, vc_op_stack, p_stack, "count distinct hosts per key, rarest first", "score" },
	{ "threat.analyze.host", "vc-score", "analyze host", "POST", "/api/threat-intel/analyze/host/{id}",
	  VC_ROLE_ANALYST, VC_OP_WRITE | VC_OP_RAW, vc_op_analyze_host, p_analyze,
	  "score a host's stored rows and the outlier model; keep the result", "host" },
	{ "threat.analyze.artifact", "vc-score", "analyze artifact", "POST",
	  "/api/threat-intel/analyze/artifact/{id}", VC_ROLE_ANALYST, VC_OP_WRITE | VC_OP_RAW,
	  vc_op_analyze_artifact, p_analyze, "score an artifact's rows; keep the result", "artifact" },
	{ "threat.scores", "vc-score", "scores", "GET", "/api/threat-intel/scores", VC_ROLE_VIEWER,
	  0, vc_op_scores, p_scores, "stored scores, newest first", "score",
	  "subject_type,subject,score,confidence,classification,rows_flagged,created_at" },
	{ "threat.heuristics", "vc-score", "heuristics", "GET", "/api/threat-intel/heuristics", VC_ROLE_VIEWER,
	  0, vc_op_heuristics, p_none, "the heuristics and their weights", "score", "id,weight,title" },
	{ "threat.rules.list", "vc-score", "rules list", NULL, NULL, VC_ROLE_VIEWER,
	  0, vc_op_rules_list, p_rules_list, "show the Sigma rules the filter would load: source, count, skipped", "score",
	  "origin,path,rules,skipped" },
	{ "threat.rules.check", "vc-score", "rules check", NULL, NULL, VC_ROLE_VIEWER,
	  0, vc_op_rules_check, p_rules_check, "load Sigma rules and report each that cannot run", "score" },
	{ "iocs.import", "vc-score", "ioc import", "POST", "/api/threat-intel/iocs", VC_ROLE_ANALYST,
	  VC_OP_WRITE | VC_OP_RAW | VC_OP_INPUT, vc_op_ioc_import, p_ioc_import,
	  "import IOCs (hashes, addresses, networks, domains, paths, file names)", "ioc" },
	{ "iocs.list", "vc-score", "ioc list", "GET", "/api/threat-intel/iocs", VC_ROLE_VIEWER,
	  0, vc_op_ioc_list, p_ioc_list, "the tenant's IOCs", "ioc", "id,type,value,severity,source" },
	{ "iocs.delete", "vc-score", "ioc delete", "DELETE", "/api/threat-intel/iocs/{id}", VC_ROLE_ANALYST,
	  VC_OP_WRITE, vc_op_ioc_delete, p_ioc_id, "delete an IOC", "ioc" },
	{ "serve.health", "vc-serve", NULL, "GET", "/health", VC_ROLE_ANON,
	  VC_OP_PUBLIC, vc_op_health, p_none, "liveness and store check", NULL },
	{ "serve.index", "vc-serve", NULL, "GET", "/", VC_ROLE_ANON,
	  VC_OP_PUBLIC, vc_op_index, p_none, "service name, version and links", NULL },
	{ "serve.openapi", "vc-serve", NULL, "GET", "/openapi.json", VC_ROLE_ANON,
	  VC_OP_PUBLIC, vc_op_openapi, p_none, "this API's OpenAPI 3.0 document", NULL },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL }
};
