#!/usr/bin/env bash
# reshard copies members that are not plain small files, as GNU tar and
# bsdtar write them: sparse files (GNU, pax, bsdtar), hard links, symlinks,
# directories, empty files, a body of exactly 512 bytes. The output holds
# the same names in the same order with the same contents (a sparse member
# may come out dense), GNU tar extracts the same tree, and the verbose
# listing (types, modes, owners, sizes, times) is unchanged.
TEST_NAME=reshard_special_members
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

mkdir src
(
	cd src || exit 1
	mkdir part1
	printf 'head' >part1/sp.jpg && truncate -s 1M part1/sp.jpg && printf 'tail' >>part1/sp.jpg
	echo '{"face_bboxes": [[0,0,1,1]], "caption": "sparse"}' >part1/sp.json
	printf 'x' >a.jpg && ln a.jpg a.hard.jpg && ln -s a.jpg a.sym.jpg
	echo '{}' >a.json
	: >e.jpg && : >e.json
	head -c 512 /dev/urandom >f.jpg && head -c 1024 /dev/urandom >f.seg.png
	touch -d @1700000000 part1 part1/* a.* e.* f.*
)
list="part1 part1/sp.jpg part1/sp.json a.jpg a.hard.jpg a.sym.jpg a.json e.jpg e.json f.jpg f.seg.png"
tar --no-recursion --sparse --format=gnu -cf sgnu.tar -C src $list
tar --no-recursion --sparse --format=posix -cf spax.tar -C src $list
tar --no-recursion --format=ustar -cf sustar.tar -C src $list
bsdtar -n --format=pax -cSf sbsd.tar -C src $list
check "setup: GNU tar wrote a GNU sparse member" python3 -c '
import sys, tarfile
sys.exit(tarfile.open("sgnu.tar").getmember("part1/sp.jpg").type != tarfile.GNUTYPE_SPARSE)'
check "setup: GNU tar wrote a pax sparse member" python3 -c '
import sys, tarfile
sys.exit(not tarfile.open("spax.tar").getmember("part1/sp.jpg").issparse())'
check "setup: 11 members, no duplicates" test "$(tar -tf sgnu.tar | sort -u | wc -l)" = 11
for f in sgnu spax sustar sbsd; do
	run_hy reshard "$f.tar" -o out -q --no-fsync
	expect_rc 0 "reshard of $f.tar"
	check "$f: same members, order, link targets and bytes (Python)" tt eq "$f.tar" "out/$f.tar"
	check "$f: same names in order (GNU tar)" bash -c \
		'cmp -s <(tar -tf "$0") <(tar -tf "$1")' "$f.tar" "out/$f.tar"
	check "$f: same verbose listing (GNU tar -tv)" bash -c \
		'cmp -s <(tar -tvf "$0" | sed "s/^S/-/") <(tar -tvf "$1" | sed "s/^S/-/")' "$f.tar" "out/$f.tar"
	mkdir -p "xi/$f" "xo/$f"
	tar -xf "$f.tar" -C "xi/$f" && tar -xf "out/$f.tar" -C "xo/$f"
	check "$f: GNU tar extracts the same tree" diff -r --no-dereference "xi/$f" "xo/$f"
	check "$f: hard link kept as a link" test "xo/$f/a.jpg" -ef "xo/$f/a.hard.jpg"
	check "$f: bsdtar reads the output" bash -c 'bsdtar -tf "$0" >/dev/null' "out/$f.tar"
done
finish
