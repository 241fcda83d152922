#!/usr/bin/env bash
# An edit that replaces a sparse member (GNU sparse 'S', pax GNU.sparse,
# bsdtar) is written as a plain file with exactly the edit's bytes: the
# original's sparse map (and extended attributes) describe the old body,
# not the edit, and must not be carried over. Checked with Python's
# tarfile and by extracting with GNU tar and bsdtar, for a small edit
# (through memory) and a large one (copied file to file).
TEST_NAME=reshard_edit_of_sparse
. "$(dirname "$0")/lib.sh"

mkdir src
(
	cd src || exit 1
	printf 'head' >sp.jpg && truncate -s 1M sp.jpg && printf 'tail' >>sp.jpg
	echo '{"face_bboxes": [[0,0,1,1]], "caption": "sparse"}' >sp.json
	head -c 3000 /dev/urandom >z.jpg && echo '{}' >z.json
	touch -d @1700000000 ./*
)
list="sp.jpg sp.json z.jpg z.json"
tar --sparse --format=gnu -cf sgnu.tar -C src $list
tar --sparse --format=posix -cf spax.tar -C src $list
bsdtar --format=pax -cSf sbsd.tar -C src $list
check "setup: GNU tar wrote a GNU sparse member" python3 -c '
import sys, tarfile
sys.exit(tarfile.open("sgnu.tar").getmember("sp.jpg").type != tarfile.GNUTYPE_SPARSE)'
check "setup: GNU tar wrote a pax sparse member" python3 -c '
import sys, tarfile
sys.exit(not tarfile.open("spax.tar").getmember("sp.jpg").issparse())'

for f in sgnu spax sbsd; do
	for size in 5000 300000; do
		rm -rf e && mkdir -p "e/$f"
		head -c "$size" /dev/urandom >"e/$f/sp.jpg"
		rm -rf out
		run_hy reshard "$f.tar" -e e -o out -q --no-fsync
		expect_rc 0 "$f: reshard with a $size-byte edit of the sparse member"
		check "$f/$size: member sp.jpg holds exactly the edit (Python tarfile)" python3 - \
			"out/$f.tar" "e/$f/sp.jpg" <<'PY'
import os, sys, tarfile
out, edit = sys.argv[1:3]
if not os.path.isfile(out):
    sys.exit("no output")
try:
    with tarfile.open(out) as t:
        m = t.getmember("sp.jpg")
        want = open(edit, "rb").read()
        got = t.extractfile(m).read()
        if m.issparse() or m.size != len(want) or got != want:
            sys.exit("sparse=%s size=%d want %d, equal=%s" % (m.issparse(), m.size, len(want), got == want))
        names = [x.name for x in t]
        if names != ["sp.jpg", "sp.json", "z.jpg", "z.json"]:
            sys.exit("members %r" % names)
except (tarfile.TarError, ValueError, KeyError) as e:
    sys.exit("unreadable output: %.200r" % e)
PY
		for x in tar bsdtar; do
			d=x-$f-$size-$x
			mkdir "$d"
			check "$f/$size: $x extracts the edit's bytes" bash -c \
				'"$0" -xf "$1" -C "$2" 2>/dev/null && cmp -s "$2/sp.jpg" "$3" && cmp -s "$2/z.jpg" src/z.jpg' \
				"$x" "out/$f.tar" "$d" "e/$f/sp.jpg"
		done
		check "$f/$size: GNU tar lists 4 members, sp.jpg not sparse, $size bytes" bash -c \
			'tar -tvf "$0" 2>/dev/null | grep -Eq "^-.* $1 .* sp\.jpg\$" && [ "$(tar -tf "$0" | wc -l)" = 4 ]' \
			"out/$f.tar" "$size"
	done
done
finish
