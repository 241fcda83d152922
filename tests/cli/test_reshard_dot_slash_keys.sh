#!/usr/bin/env bash
# A shard written with `tar -cf x.tar -C dir .` names its members
# ./000.jpg...: their key is ./000, and edits are files EDITS/x/000.EXT
# (there is no '.' folder to put them in). reshard matches them: the
# replaced member keeps its name ./000.jpg with the edit's bytes, an added
# member is named ./000.extra and placed at the end of sample ./000, and
# every other member is unchanged (names, order, bytes).
TEST_NAME=reshard_dot_slash_keys
. "$(dirname "$0")/lib.sh"

mkdir src
for k in 000 001 002; do
	head -c 3000 /dev/urandom >"src/$k.jpg"
	echo "caption $k" >"src/$k.txt"
	echo "{\"caption\": \"caption $k\", \"face_bboxes\": []}" >"src/$k.json"
done
touch -d @1700000000 src src/*
for fmt in gnu ustar posix; do
	tar --sort=name --format=$fmt -cf "x$fmt.tar" -C src .
	mkdir -p "e/x$fmt"
	head -c 5000 /dev/urandom >"e/x$fmt/000.jpg"
	printf 'added member of %s\n' "$fmt" >"e/x$fmt/000.extra"
done
check "setup: members are named ./000.jpg..." bash -c \
	'tar -tf xgnu.tar | grep -qx "\./000\.jpg"'

for fmt in gnu ustar posix; do
	run_hy reshard "x$fmt.tar" -e e -o out -q --no-fsync
	expect_rc 0 "reshard of a ./-prefixed $fmt shard with edits for key 000"
	check "$fmt: edited members counted" grep -Eq "edited members +2\$" out.txt
	check "$fmt: ./000.jpg replaced, ./000.extra added at the end of ./000, rest equal" \
		python3 - "x$fmt.tar" "out/x$fmt.tar" "e/x$fmt" <<'PY'
import os, sys, tarfile
src, out, ed = sys.argv[1:4]
if not os.path.isfile(out):
    sys.exit("no output " + out)
def members(p):
    with tarfile.open(p) as t:
        return [(m.name, m.type if not m.isfile() else b"0",
                 t.extractfile(m).read() if m.isfile() else None) for m in t]
want = []
for name, typ, data in members(src):
    if name == "./000.jpg":
        data = open(ed + "/000.jpg", "rb").read()
    want.append((name, typ, data))
    if name == "./000.txt":  # last member of sample ./000 (sorted names)
        want.append(("./000.extra", b"0", open(ed + "/000.extra", "rb").read()))
got = members(out)
for i, (g, w) in enumerate(zip(got, want)):
    if g != w:
        print("member %d: got %r want %r" % (i, g[:2], w[:2]), file=sys.stderr)
        sys.exit(1)
if len(got) != len(want):
    print("got %d members, want %d" % (len(got), len(want)), file=sys.stderr)
    sys.exit(1)
PY
	check "$fmt: GNU tar extracts the edit's bytes to ./000.jpg" bash -c \
		'mkdir -p "xo$0" && tar -xf "out/x$0.tar" -C "xo$0" && cmp "xo$0/000.jpg" "e/x$0/000.jpg" && cmp "xo$0/000.extra" "e/x$0/000.extra"' "$fmt" 2>/dev/null
	check "$fmt: bsdtar lists the output" bash -c 'bsdtar -tf "$0" >/dev/null 2>&1' "out/x$fmt.tar"
done
finish
