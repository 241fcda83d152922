#!/usr/bin/env bash
# reshard keeps member names longer than 100 characters (input written as
# GNU long names, pax, or ustar prefix+name): the output holds the same
# names, written as pax (not GNU ././@LongLink), readable by GNU tar, bsdtar
# and Python; edits to long-named keys land under the same long name.
TEST_NAME=reshard_long_names
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

d1=$(printf 'folder%.0s' $(seq 1 20))            # 120 chars
stem=$(printf 'k%.0s' $(seq 1 150))              # a 150-char base name
short=aa/$(printf 'b%.0s' $(seq 1 90))           # fits ustar prefix+name
for fmt in gnu pax; do
	tt build "in-$fmt.tar" "$fmt" <<PY
[
 ("$d1/000001.jpg", {"random": 700, "seed": 1}), ("$d1/000001.json", "{}"),
 ("$stem.jpg", {"random": 900, "seed": 2}), ("$stem.txt", "long stem"),
 ("$d1/$stem.seg.png", "seg"), ("$d1/$stem.json", "{}"),
 ("$short/000002.jpg", "x"), ("$short/000002.json", "{}"),
 ("k.jpg", "short one"),
]
PY
done
tt build in-ustar.tar ustar <<PY
[("$short/000002.jpg", "x"), ("$short/000002.json", "{}"), ("k.jpg", "short one")]
PY
for fmt in gnu pax ustar; do
	run_hy reshard "in-$fmt.tar" -o "out-$fmt" -q --no-fsync
	expect_rc 0 "reshard of a $fmt shard with long names"
	o=out-$fmt/in-$fmt.tar
	check "$fmt: same members and names (Python)" tt eq "in-$fmt.tar" "$o"
	check "$fmt: GNU tar lists the same names" bash -c \
		'cmp -s <(tar -tf "$0") <(tar -tf "$1")' "in-$fmt.tar" "$o"
	check "$fmt: bsdtar lists the same names" bash -c \
		'cmp -s <(bsdtar -tf "$0") <(bsdtar -tf "$1")' "in-$fmt.tar" "$o"
	check "$fmt: no GNU long-name entries in the output" bash -c '! grep -aq "././@LongLink" "$0"' "$o"
done
check "a 150-char base name is stored as a pax path record" grep -aq "path=$stem.jpg" out-gnu/in-gnu.tar

mkdir -p "edits/in-pax/$d1"
printf 'new image' >"edits/in-pax/$d1/$stem.seg.png"
printf 'added prompt' >"edits/in-pax/$d1/$stem.txt"
printf 'new short' >"edits/in-pax/$stem.jpg"
run_hy reshard in-pax.tar -e edits -o out-e -q --no-fsync
expect_rc 0 "reshard with edits to long-named keys"
check "edits applied under the long names" tt expect-reshard in-pax.tar edits/in-pax out-e/in-pax.tar
mkdir x && tar -xf out-e/in-pax.tar -C x
check "GNU tar extracts the added long-named member" cmp -s "x/$d1/$stem.txt" "edits/in-pax/$d1/$stem.txt"
finish
