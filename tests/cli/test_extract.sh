#!/usr/bin/env bash
# extract unpacks each shard into DIR/NAME/ with the same files and bytes as
# `tar -x` (sub-folders, directories, symlinks included), for every tar
# dialect; no temporary folder remains.
TEST_NAME=extract
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

run_hy extract "$SHARDS" -o x -q
expect_rc 0 "extract of datacomp-mini"
for n in 00000000 00000001 00000002; do
	mkdir -p "ref/$n" && tar -xf "$SHARDS/$n.tar" -C "ref/$n"
	check "$n/ has the same files and bytes as tar -x" diff -r "x/$n" "ref/$n"
	check "$n/ has 120 files" test "$(find "x/$n" -type f | wc -l)" = 120
done
check "only the three folders, no temporaries" test "$(ls -A x | tr '\n' ' ')" = "00000000 00000001 00000002 "

long=$(printf 'd%.0s' $(seq 1 130))
tt build s.tar pax <<PY
[("part1/", {"dir": True}), ("part1/000001.jpg", {"random": 3000, "seed": 1}),
 ("part1/000001.seg.png", "seg"), ("part1/000001.json", "{}"),
 ("part1/000001.alias.jpg", {"symlink": "000001.jpg"}),
 ("$long/000002.txt", "long folder"),
 ("000003.json", '{"caption": "\u00e9"}')]
PY
run_hy extract s.tar -o y -q
expect_rc 0 "extract of a shard with folders, a symlink and a long name"
mkdir -p ref/s && tar -xf s.tar -C ref/s
check "s/ equal to tar -x (files and bytes)" diff -r --no-dereference y/s ref/s
check "symlink extracted as a symlink to the same target" \
	test "$(readlink y/s/part1/000001.alias.jpg)" = 000001.jpg

i=0
for v in "$FIX"/tar-variants/*; do
	i=$((i + 1))
	b=$(basename "$v")
	n=${b%.gz}
	n=${n%.tar}
	run_hy extract "$v" -o "v$i" -q
	expect_rc 0 "extract of $b"
	mkdir -p "vref$i" && tar -xf "$v" -C "vref$i"
	check "$b: $n/ equal to tar -x" diff -r "v$i/$n" "vref$i"
done
finish
