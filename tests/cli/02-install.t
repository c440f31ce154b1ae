#!/bin/sh
# SPDX-License-Identifier: MIT
# make install honours PREFIX and DESTDIR and installs binaries, man pages
# and completions; the installed binary runs.
. "$(dirname "$0")/lib.sh"
no_store "make install and its files"
bin_only "make install installs bin/"

run make -s -C "$TOP" install DESTDIR="$T/root" PREFIX=/opt/vc
is "$rc" 0 "make install succeeds"
ok $([ -x "$T/root/opt/vc/bin/vc-auth" ]; echo $?) "vc-auth installed under DESTDIR/PREFIX/bin"
ok $([ -f "$T/root/opt/vc/share/man/man1/vc-auth.1" ]; echo $?) "vc-auth(1) installed"
ok $([ -f "$T/root/opt/vc/share/man/man7/velocicompanion.7" ]; echo $?) "velocicompanion(7) installed"
ok $([ -f "$T/root/opt/vc/share/bash-completion/completions/velocicompanion" ]; echo $?) "bash completion installed"
run "$T/root/opt/vc/bin/vc-auth" --version
like "$out" '^vc-auth [0-9]+\.[0-9]+\.[0-9]+$' "the installed binary runs"
ok $([ -f "$T/root/opt/vc/share/velocicompanion/sigma/LICENSE.Detection.Rules.md" ]; echo $?) "the Sigma rules' licence installed"
init_store
run "$T/root/opt/vc/bin/vc-score" rules list -o jsonl
is "$rc:$(jqr .path):$(jqr .rules):$(jqr .skipped)" \
	"0:$T/root/opt/vc/bin/../share/velocicompanion/sigma/rules/windows:$(($(find "$TOP"/rules/sigma/rules/windows -name '*.yml' | wc -l) - 8)):8" \
	"the installed vc-score finds its default Sigma rules under SHAREDIR/sigma; every rule loads but 8 of unmapped log sources"
ok $([ ! -e "/opt/vc/bin/vc-auth" ] || [ -e "$T/root" ]; echo $?) "nothing written outside DESTDIR"
done_testing
