#!/bin/sh
# SPDX-License-Identifier: MIT
# 05-docs.t - the manual pages and the completions agree with the programs.
#  - every man/*.[157] is mandoc -Tlint clean;
#  - every bin/vc-* has a page man/NAME.1, and the synopsis that `NAME -h`
#    prints is the page's SYNOPSIS (git's t0450): for the tools whose usage
#    is made from the operation table, line for line after normalising
#    spacing and the case of operands, so that one missing or extra option,
#    operand or choice fails; for the others (vc-serve), option for option;
#  - velocicompanion(7) lists every tool in bin/;
#  - the exit statuses of lib/core/vc.h are all in the EXIT STATUS of
#    velocicompanion(7) and of the table-made tools' pages, and no page
#    lists one that lib/core/vc.h lacks;
#  - the completions made by `make all` exist, are current, parse, and
#    name every vc-auth command.
. "$(dirname "$0")/lib.sh"
no_store "the manuals, the completions and -h"
bin_only "the manuals and completions are checked against bin/"
cd "$TOP" || exit 70

# diag TEXT: TEXT as TAP comment lines.
diag() { printf '%s\n' "$1" | sed 's/^/#   /'; }
# check STATUS DESCRIPTION [DIAGNOSTIC]: ok, and DIAGNOSTIC when it failed;
# returns STATUS.
check() {
	ok "$1" "$2"
	[ "$1" -eq 0 ] || [ -z "${3-}" ] || diag "$3"
	return "$1"
}
skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }

command -v mandoc >/dev/null 2>&1
check $? "mandoc is installed (make deps)" || { done_testing; exit; }

# ---- mandoc -Tlint -------------------------------------------------------

# lint PAGE: the mandoc -Tlint messages about PAGE.  Two kinds are about
# the host, not the page, and are dropped: an Xr to one of our own pages,
# which mandoc looks for only among the installed manuals, and a stale
# makewhatis database ("outdated mandoc.db lacks ...").  An Xr to a page
# that is neither ours nor installed stays an error.
lint() {
	mandoc -Tlint "$1" 2>&1 | while IFS= read -r line; do
		case $line in
		*"outdated mandoc.db lacks"*)
			continue ;;
		*"STYLE: referenced manual not found: Xr "*)
			ref=${line##*: Xr }
			name=${ref%% *}
			sec=${ref#"$name" }
			sec=${sec%% *}
			[ -f "man/$name.$sec" ] && continue ;;
		esac
		printf '%s\n' "$line"
	done
}

pages=$(ls man/*.[157] 2>/dev/null)
[ -n "$pages" ]
ok $? "man/ holds manual pages"
for page in $pages; do
	msgs=$(lint "$page")
	if [ -z "$msgs" ]; then
		ok 0 "$page: mandoc -Tlint is clean"
	else
		ok 1 "$page: mandoc -Tlint is clean"
		diag "$msgs"
	fi
done

# ---- SYNOPSIS against -h ---------------------------------------------------

# help_synopsis TOOL: the synopsis entries of `TOOL -h`, one per line: the
# "usage:" line and the lines after it that start with the tool's name.
# Another indented line continues the entry before it; anything else ends
# the usage.
help_synopsis() {
	"bin/$1" -h 2>&1 | awk -v tool="$1" '
		/^usage:/ && !on { sub(/^usage:[ \t]*/, ""); cur = $0; on = 1; next }
		!on { next }
		/^[ \t]/ && $1 == tool { print cur; sub(/^[ \t]+/, ""); cur = $0; next }
		/^[ \t]+[^ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next }
		{ exit }
		END { if (on) print cur }'
}

# page_synopsis TOOL: the SYNOPSIS of man/TOOL.1 as rendered, one entry
# per line: a line that starts with the tool's name starts an entry, any
# other line continues it.
page_synopsis() {
	mandoc -Tascii -O width=300 "man/$1.1" | col -b | awk -v tool="$1" '
		/^[A-Z]/ { on = ($0 == "SYNOPSIS"); next }
		!on || /^[ \t]*$/ { next }
		{ sub(/^[ \t]+/, "") }
		$1 == tool { if (cur != "") print cur; cur = $0; next }
		{ cur = cur " " $0 }
		END { if (cur != "") print cur }'
}

# norm: the same synopsis written either way gives the same line: single
# spaces, none inside brackets or around "|", operands in lower case
# (-h says USER, mdoc's Ar says user); options keep their case.
norm() {
	awk '{
		s = $0
		gsub(/[ \t]+/, " ", s)
		gsub(/ *\| */, "|", s)
		gsub(/\[ /, "[", s)
		gsub(/ \]/, "]", s)
		sub(/^ /, "", s)
		sub(/ $/, "", s)
		n = split(s, w, " ")
		out = ""
		for (i = 1; i <= n; i++) {
			if (w[i] !~ /^\[*-/)
				w[i] = tolower(w[i])
			out = out (i > 1 ? " " : "") w[i]
		}
		print out
	}'
}

# explain LINE WHERE OTHER: on stdin the lines of OTHER.  Print LINE, the
# line of OTHER that begins with the most words of LINE (at least two),
# and the options and operands that only one of the two has.
explain() {
	awk -v want="$1" -v a="$2" -v b="$3" '
	function units(s, u,   n, i, c, depth, cur) {
		n = 0; cur = ""; depth = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == " " && depth == 0) {
				if (cur != "") u[++n] = cur
				cur = ""
				continue
			}
			if (c == "[") depth++
			if (c == "]") depth--
			cur = cur c
		}
		if (cur != "") u[++n] = cur
		return n
	}
	BEGIN { nw = split(want, W, " "); best = 0 }
	{
		n = split($0, L, " ")
		k = 0
		while (k < n && k < nw && L[k + 1] == W[k + 1])
			k++
		if (k > best) { best = k; line = $0 }
	}
	END {
		print a ": " want
		if (best < 2) { print "nothing like it in " b; exit }
		print "closest in " b ": " line
		nu = units(want, U)
		nl = units(line, V)
		for (i = 1; i <= nl; i++) inl[V[i]] = 1
		for (i = 1; i <= nu; i++) inu[U[i]] = 1
		d = 0
		for (i = 1; i <= nu; i++) if (!(U[i] in inl)) { print "only in " a ": " U[i]; d++ }
		for (i = 1; i <= nl; i++) if (!(V[i] in inu)) { print "only in " b ": " V[i]; d++ }
		if (d == 0) print "the same words in another order"
	}'
}

# opts: the options named in synopsis text on stdin, one per line, sorted;
# bundled flags ("-hn") count one by one, "--db=PATH" as "--db".
opts() {
	awk '{
		gsub(/\[|\]|\|/, " ")
		for (i = 1; i <= NF; i++) {
			o = $i
			if (o !~ /^--?[A-Za-z0-9]/) continue
			sub(/=.*/, "", o)
			if (o ~ /^-[A-Za-z0-9][A-Za-z0-9]+$/)
				for (j = 2; j <= length(o); j++) print "-" substr(o, j, 1)
			else
				print o
		}
	}' | sort -u
}

# strict TOOL PAGE: line-for-line comparison of the synopses.
strict() {
	while IFS= read -r l; do
		if grep -qxF -- "$l" "$T/p.$1"; then
			ok 0 "$2 SYNOPSIS has: $l"
		else
			ok 1 "$2 SYNOPSIS has: $l"
			diag "$(explain "$l" "$1 -h" "$2" < "$T/p.$1")"
		fi
	done < "$T/h.$1"
	extra=""
	while IFS= read -r l; do
		grep -qxF -- "$l" "$T/h.$1" && continue
		extra="$extra$(explain "$l" "$2" "$1 -h" < "$T/h.$1")
"
	done < "$T/p.$1"
	if [ -z "$extra" ]; then
		ok 0 "$2 SYNOPSIS has nothing that $1 -h lacks"
	else
		ok 1 "$2 SYNOPSIS has nothing that $1 -h lacks"
		diag "$(printf '%s' "$extra")"
	fi
}

# by_option TOOL PAGE: the same options in -h and in the SYNOPSIS.
by_option() {
	opts < "$T/h.$1" > "$T/ho.$1"
	opts < "$T/p.$1" > "$T/po.$1"
	missing=$(comm -23 "$T/ho.$1" "$T/po.$1" | tr '\n' ' ')
	extra=$(comm -13 "$T/ho.$1" "$T/po.$1" | tr '\n' ' ')
	[ -z "$missing" ]
	check $? "$2 SYNOPSIS names every option of $1 -h" "missing: $missing"
	[ -z "$extra" ]
	check $? "$2 SYNOPSIS names no option that $1 -h lacks" "not in -h: $extra"
}

tools=""
for bin in bin/vc-*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	tool=${bin#bin/}
	tools="$tools $tool"
	page=man/$tool.1
	if [ ! -f "$page" ]; then
		ok 1 "$tool has a manual page"
		diag "no $page"
		continue
	fi
	ok 0 "$tool has a manual page"
	help_synopsis "$tool" | norm > "$T/h.$tool"
	page_synopsis "$tool" | norm > "$T/p.$tool"
	[ -s "$T/h.$tool" ]
	check $? "$tool -h prints a usage" || continue
	[ -s "$T/p.$tool" ]
	check $? "$page has a SYNOPSIS" || continue
	if grep -q vc_cli_main "cmd/$tool.c" 2>/dev/null; then
		strict "$tool" "$page"
	else
		by_option "$tool" "$page"
	fi
done
[ -n "$tools" ]
check $? "bin/ holds the tools (make all)"

# The overview lists every tool that is built, as a page of its own.
missing=""
for tool in $tools; do
	grep -q "^\.It Xr $tool 1\$" man/velocicompanion.7 2>/dev/null ||
		missing="$missing $tool"
done
[ -z "$missing" ]
check $? "man/velocicompanion.7 lists every tool in bin/ (.It Xr NAME 1)" "missing:$missing"

# ---- EXIT STATUS -----------------------------------------------------------

# exit_items PAGE: the statuses its EXIT STATUS section lists.
exit_items() {
	mandoc -Tascii "$1" | col -bx | awk '
		/^[A-Z]/ { on = ($0 == "EXIT STATUS"); next }
		on && /^     [0-9]+( |$)/ { print $1 }' | sort -u
}

codes=$(sed -n 's/^[ \t]*VC_EXIT_[A-Z_]* = \([0-9][0-9]*\),\{0,1\}.*$/\1/p' lib/core/vc.h | sort -u)
[ -n "$codes" ]
check $? "lib/core/vc.h defines the exit statuses"
printf '%s\n' "$codes" > "$T/codes"
full="man/velocicompanion.7"
for tool in $tools; do
	grep -q vc_cli_main "cmd/$tool.c" 2>/dev/null && full="$full man/$tool.1"
done
for page in $pages; do
	exit_items "$page" > "$T/items"
	[ -s "$T/items" ] || case " $full " in *" $page "*) ;; *) continue ;; esac
	unknown=$(comm -13 "$T/codes" "$T/items" | tr '\n' ' ')
	[ -z "$unknown" ]
	check $? "$page: EXIT STATUS lists only statuses of lib/core/vc.h" "unknown: $unknown"
	case " $full " in *" $page "*) ;; *) continue ;; esac
	missing=$(comm -23 "$T/codes" "$T/items" | tr '\n' ' ')
	[ -z "$missing" ]
	check $? "$page: EXIT STATUS lists every status of lib/core/vc.h" "missing: $missing"
done

# ---- completions -----------------------------------------------------------

# The vc-auth commands, from its -h: the lower-case words after the name.
verbs=$(help_synopsis vc-auth | awk '{
	v = ""
	for (i = 2; i <= NF && $i ~ /^[a-z][a-z0-9-]*$/; i++)
		v = v (v == "" ? "" : " ") $i
	if (v != "") print v
}')
[ -n "$verbs" ]
check $? "vc-auth -h names its commands"

# mentions FILE VERB: FILE names the command VERB, one word ("whoami") or
# two ("user create": the words close together on one line, in order).
W='[^A-Za-z0-9_-]'
mentions() {
	w1=${2%% *}
	w2=${2#"$w1"}
	w2=${w2# }
	if [ -z "$w2" ]; then
		grep -Eq "(^|$W)$w1($W|\$)" "$1"
	else
		grep -Eq "(^|$W)$w1$W(.{0,10}$W)?$w2($W|\$)" "$1"
	fi
}

for shell in bash zsh fish; do
	case $shell in
	bash) f=completions/velocicompanion.bash ;;
	zsh) f=completions/_velocicompanion ;;
	fish) f=completions/velocicompanion.fish ;;
	esac
	if [ ! -s "$f" ]; then
		ok 1 "$f exists (make all)"
		continue
	fi
	ok 0 "$f exists (make all)"
	bin/vc-auth --completions "$shell" | cmp -s - "$f"
	ok $? "$f is what vc-auth --completions $shell prints (make all)"
	missing=$(printf '%s\n' "$verbs" | while IFS= read -r v; do
		mentions "$f" "$v" || printf '%s; ' "$v"
	done)
	[ -z "$missing" ]
	check $? "$f names every vc-auth command" "missing: $missing"
	if command -v "$shell" >/dev/null 2>&1; then
		msgs=$("$shell" -n "$f" 2>&1)
		check $? "$shell -n $f" "$msgs"
	else
		skip "$shell -n $f: no $shell"
	fi
done

done_testing
