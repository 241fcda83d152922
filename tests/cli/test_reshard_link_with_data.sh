#!/usr/bin/env bash
# A hard link entry that carries a body (pax allows a size on a link) cannot
# be rewritten faithfully: libarchive writes links without a body, so the
# output would be a malformed tar (its body bytes read as headers) or lose
# data. reshard fails that shard, named with the offset, the member and
# "link", leaves neither output nor .part, and the other shards of the run
# finish. A hard link without data (the normal case) is copied as a link.
TEST_NAME=reshard_link_with_data
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
teq() { [ -f "$2" ] && tt eq "$1" "$2"; } # A OUT: OUT exists, same members

# mklink OUT SIZE: pax tar, samples a/000 and a/001 around a hard link
# a/000.x -> a/000.jpg whose header says SIZE and which carries SIZE bytes.
mklink() {
	python3 - "$1" "$2" <<'PY'
import io, random, sys, tarfile
size = int(sys.argv[2])
rnd = random.Random(1)
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def reg(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
    reg("a/000.jpg", rnd.randbytes(30000)); reg("a/000.txt", b"hello")
    ti = tarfile.TarInfo("a/000.x"); ti.type = tarfile.LNKTYPE
    ti.linkname = "a/000.jpg"; ti.size = size; ti.mtime = 1700000000
    ti.pax_headers = {"comment": "force pax"}
    t.addfile(ti, io.BytesIO(rnd.randbytes(size)))
    reg("a/001.jpg", rnd.randbytes(20000)); reg("a/001.txt", b"world")
PY
}

tt gen good.tar 20 3000 7
for s in 100 20000; do
	mklink "ld$s.tar" "$s"
	check "setup: ld$s.tar has a hard link carrying $s bytes" python3 -c '
import sys, tarfile
m = tarfile.open(sys.argv[1]).getmember("a/000.x")
sys.exit(not (m.islnk() and m.size == int(sys.argv[2])))' "ld$s.tar" "$s"
	off=$(tt offsets "ld$s.tar" | awk '$5 == "a/000.x" { print $2 }')
	sha=$(sha256sum "ld$s.tar")
	run_hy reshard "ld$s.tar" good.tar -o "out$s" -q --no-fsync -j 1
	expect_rc 2 "reshard of a link with $s bytes of data, and a good shard"
	expect_err "ld$s\.tar: offset $off: .*'a/000\.x'.*link" \
		"$s: the failure names the shard, the offset, the member and 'link'"
	check "$s: no output for the bad shard" test ! -e "out$s/ld$s.tar"
	check "$s: no .part left" test -z "$(ls -A "out$s" | grep part)"
	check "$s: the good shard finished" teq good.tar "out$s/good.tar"
	check "$s: summary counts 1 failed shard" grep -Eq "failed +1\$" out.txt
	check "$s: input unchanged" test "$(sha256sum "ld$s.tar")" = "$sha"
done

# Normal hard links (no body): copied as links, the tar round-trips.
for fmt in ustar gnu pax; do
	tt build "hl-$fmt.tar" "$fmt" <<'SPEC'
[("a/000.jpg", {"random": 30000, "seed": 1}), ("a/000.txt", "hello"),
 ("a/000.x", {"hardlink": "a/000.jpg"}),
 ("a/001.jpg", {"random": 20000, "seed": 2}), ("a/001.txt", "world")]
SPEC
	run_hy reshard "hl-$fmt.tar" -o "hl-out-$fmt" -q --no-fsync
	expect_rc 0 "reshard of a $fmt tar with a data-less hard link"
	out=hl-out-$fmt/hl-$fmt.tar
	check "$fmt: same members, link target kept (Python)" teq "hl-$fmt.tar" "$out"
	check "$fmt: output readable by bsdtar" bash -c 'bsdtar -tf "$0" >/dev/null' "$out"
	mkdir "x-$fmt"
	tar -xf "$out" -C "x-$fmt" 2>/dev/null
	check "$fmt: GNU tar extracts the link as a hard link" test "x-$fmt/a/000.x" -ef "x-$fmt/a/000.jpg"
	check "$fmt: and a/001 after it intact" bash -c \
		'[ "$(cat "$0/a/001.txt")" = world ]' "x-$fmt"
done
finish
