#!/usr/bin/env bash
# scripts/indent.sh: lay the C sources out as PostgreSQL's pgindent does.
#
# Each file goes through pg_bsd_indent (Debian's pg-bsd-indent) with
# pgindent's options and the project's typedefs.list (scripts/typedefs.sh
# regenerates it), then through the few fixes pgindent makes after
# pg_bsd_indent:
#   - a function's return type on a line of its own keeps one space before
#     its '*' ("char *", not "char<tab>   *"),
#   - two comments run together on one line get a tab between them,
#   - the braces of an extern "C" block under #ifdef __cplusplus are left
#     alone (hidden from pg_bsd_indent as comments, then put back).
#
#	scripts/indent.sh [files...]			rewrite the files in place
#	scripts/indent.sh --check [files...]	write nothing; print each file
#											that is not laid out so, with
#											the start of its diff, and one
#											closing "N passed, N failed"
#
# Without files: src/*.c src/*.h test/unit/*.c test/unit/*.h test/fuzz/*.c.
# A file pg_bsd_indent cannot indent (it reports errors such as "Statement
# nesting error") counts as a failure in both modes and is never rewritten.
# Exits non-zero if any file failed.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INDENT=${PG_BSD_INDENT:-pg_bsd_indent}
TYPEDEFS=$ROOT/typedefs.list
DIFF_LINES=20

check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi

if ! command -v "$INDENT" >/dev/null; then
	echo "$0: $INDENT not found (apt-get install pg-bsd-indent)" >&2
	exit 2
fi
if [ ! -r "$TYPEDEFS" ]; then
	echo "$0: $TYPEDEFS missing (scripts/typedefs.sh writes it)" >&2
	exit 2
fi

if [ $# -gt 0 ]; then
	files=("$@")
else
	shopt -s nullglob
	cd "$ROOT" || exit 2
	files=(src/*.c src/*.h test/unit/*.c test/unit/*.h test/fuzz/*.c)
fi

# pgindent's options for pg_bsd_indent
opts=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79
	-lp -lpl -nip -npro -sac -tpg -ts4 "-U$TYPEDEFS")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pre_indent IN OUT: hide what pg_bsd_indent must not touch.
pre_indent() {
	sed -E \
		-e '/^#ifdef[ \t]+__cplusplus/,/^#endif/{
			s|^\{[ \t]*$|/* Open extern "C" */|
			s|^\}[ \t]*$|/* Close extern "C" */|
		}' "$1" >"$2"
}

# post_indent IN OUT: pgindent's fixes after pg_bsd_indent.
post_indent() {
	sed -E \
		-e 's|^/\* Open extern "C" \*/$|{|' \
		-e 's|^/\* Close extern "C" \*/$|}|' \
		-e 's|\*/(/\*.*\*/)$|*/\t\1|' \
		-e 's|^([A-Za-z_][^ \t]*)[ \t]+\*$|\1 *|' "$1" >"$2"
}

passed=0
failed=0
for f in "${files[@]}"; do
	if [ ! -f "$f" ]; then
		echo "$f: no such file"
		failed=$((failed + 1))
		continue
	fi
	pre_indent "$f" "$tmp/in.c"
	"$INDENT" "${opts[@]}" "$tmp/in.c" "$tmp/out.c" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/err" ]; then
		echo "$f: pg_bsd_indent cannot indent it (exit $rc):"
		sed "s|^|    |" "$tmp/err"
		failed=$((failed + 1))
		continue
	fi
	post_indent "$tmp/out.c" "$tmp/new.c"
	if cmp -s "$f" "$tmp/new.c"; then
		passed=$((passed + 1))
	elif [ $check = 1 ]; then
		echo "$f: not in pgindent's layout (make indent rewrites it):"
		diff -u --label "$f" --label "$f (indented)" "$f" "$tmp/new.c" |
			head -n "$DIFF_LINES" | sed "s|^|    |"
		failed=$((failed + 1))
	else
		# cat, not mv: the file keeps its mode and its inode
		cat "$tmp/new.c" >"$f"
		echo "$f: rewritten"
		passed=$((passed + 1))
	fi
done

if [ $check = 1 ]; then
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
