#!/bin/sh
# SPDX-License-Identifier: MIT
# 07-fuzz-corpus.t - every fuzz target runs every input of its corpus
# once, as a regression test: the seeds and the inputs of bugs found by
# fuzzing (tests/fuzz/corpus/NAME/) must pass the target's invariants,
# under ASan, UBSan and LeakSanitizer.  `make test` builds the targets
# (build/fuzz/f_NAME); fuzzing itself is `make fuzz` (scripts/fuzz).
. "$(dirname "$0")/lib.sh"
no_store "the fuzzers over their corpora"
cd "$TOP" || exit 70

for src in tests/fuzz/f_*.c; do
	name=${src##*/f_}
	name=${name%.c}
	bin=build/fuzz/f_$name
	corpus=tests/fuzz/corpus/$name
	if [ ! -x "$bin" ]; then
		ok 1 "$name: built (make build/fuzz/f_$name)"
		continue
	fi
	n=$(ls "$corpus" 2>/dev/null | wc -l | tr -d ' ')
	if [ "$n" -eq 0 ]; then
		ok 1 "$name: has a seed corpus in $corpus"
		continue
	fi
	# Files, not the directory: each runs once, whatever its size, and
	# libFuzzer writes nothing next to them.
	"$bin" -rss_limit_mb=2048 -timeout=30 "$corpus"/* > "$T/$name.log" 2>&1
	rc=$?
	ok "$rc" "$name: its $n corpus inputs pass"
	[ "$rc" -eq 0 ] || {
		grep 'Running:' "$T/$name.log" | tail -n 1
		grep -E -m 5 'invariant|ERROR|SUMMARY' "$T/$name.log"
	} | sed 's/^/#   /'
done
done_testing
