#!/usr/bin/env bash
# scripts/typedefs.sh: regenerate typedefs.list, the type names that
# scripts/indent.sh hands to pg_bsd_indent (-U).
#
# As PostgreSQL's own tools do, the names come from the DWARF debug info of
# the built objects: the extension is built (make, PGXS's default -g), the
# unit tests and fuzz harnesses are compiled with -g into a temporary
# directory (their objects are never kept), and the DW_AT_name of every
# DW_TAG_typedef is taken (PostgreSQL's, the C library's and the project's
# own types that the code uses).  The
# project's typedefs that no object uses are taken from the sources
# themselves: "} Name;" at column 0 closing a typedef, a one-line
# "typedef ... Name;" and a function pointer "typedef ... (*Name) (...)".
# The list is written sorted, one name a line.
#
#	scripts/typedefs.sh			rewrite typedefs.list
#	scripts/typedefs.sh --stdout	print the list instead

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/typedefs.list
if [ "${1:-}" = --stdout ]; then
	OUT=/dev/stdout
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--stdout]" >&2
	exit 2
fi

make -s -C "$ROOT" >/dev/null

shopt -s nullglob
objs=("$ROOT"/src/*.o)
srcs=("$ROOT"/src/*.[ch] "$ROOT"/test/unit/*.[ch] "$ROOT"/test/fuzz/*.c)
if [ ${#objs[@]} -eq 0 ]; then
	echo "$0: no object in src/ after make" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags=(-std=gnu11 -g -O0 -I"$ROOT/src" $(pkg-config --cflags libcjson))
for c in "$ROOT"/test/unit/*.c "$ROOT"/test/fuzz/*.c; do
	o=$tmp/$(basename "$(dirname "$c")")_$(basename "$c" .c).o
	gcc "${cflags[@]}" -c "$c" -o "$o"
	objs+=("$o")
done

{
	# DW_AT_name of each DW_TAG_typedef; the name is either given inline or
	# as "(indirect string, offset: 0x...): Name".
	for o in "${objs[@]}"; do
		objdump --dwarf=info "$o"
	done | awk '
		/DW_TAG_/ { in_typedef = ($0 ~ /DW_TAG_typedef/); next }
		in_typedef && /DW_AT_name/ {
			name = $NF
			sub(/^.*: /, "", name)
			print name
			in_typedef = 0
		}'

	# The project's own typedefs, from the sources.
	cat "${srcs[@]}" | sed -nE \
		-e 's/^\}[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*;.*/\1/p' \
		-e 's/^typedef[^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*;.*/\1/p' \
		-e 's/^typedef[^(]*\([[:space:]]*\*[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\).*/\1/p'
} | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | LC_ALL=C sort -u >"$OUT"
