#!/usr/bin/env bash
# A 32 KiB shard whose last member's header declares gigabytes (6 GiB in
# octal, 12 GiB in GNU base-256, 12 GiB in a pax size record) and whose body
# the end of the file cuts short. reshard fails that shard with exit 2,
# naming the shard and the member, leaves no output and no .part, and never
# writes the declared size: libarchive's close used to pad the open member
# with zeros up to it on the error path, gigabytes into a temporary file
# about to be removed (issue #16). Measured without timing: the bytes the
# process hands to write(2) (wchar of /proc/self/io, which counts reaped
# children), under a 16 MiB file size limit so that the old code stops at
# EFBIG instead of filling the disk. extract fails the same shards naming
# the member as the shard does, not by its path in the temporary folder.
TEST_NAME=reshard_truncated_giant_member
. "$(dirname "$0")/lib.sh"

# mkgiant OUT FORMAT GIB: samples k0..k2 of 3000 bytes, then k3.jpg whose
# header says GIB GiB, the file cut at 32 KiB.
mkgiant() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
out, fmt, gib = sys.argv[1], getattr(tarfile, sys.argv[2]), int(sys.argv[3])
with open(out, "wb") as f:
    t = tarfile.open(fileobj=f, mode="w", format=fmt)
    for i in range(3):
        ti = tarfile.TarInfo("k%d.txt" % i)
        ti.size = 3000
        t.addfile(ti, io.BytesIO(b"x" * 3000))
    ti = tarfile.TarInfo("k3.jpg")
    ti.size = gib << 30
    if fmt == tarfile.PAX_FORMAT:
        ti.pax_headers = {"size": str(ti.size)}
    f.write(ti.tobuf(fmt))
    f.write(b"y" * (32768 - f.tell()))
PY
}

# written LIMIT_KIB CMD...: runs CMD under a file size limit, stdout ->
# out.txt, stderr -> err.txt, exit status -> $rc; prints the bytes it
# passed to write(2).
written() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
def wchar():
    with open("/proc/self/io") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("wchar:"))
lim = int(sys.argv[1]) * 1024
before = wchar()
with open("out.txt", "wb") as o, open("err.txt", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (lim, lim)))
print(wchar() - before, rc)
PY
}

read -r w rc < <(written 16384 dd if=/dev/zero of=dd.out bs=1M count=2 status=none)
check "setup: /proc/self/io counts a child's writes ($w bytes for 2 MiB)" \
	test "$w" -ge $((2 << 20))

for c in GNU_FORMAT:6 GNU_FORMAT:12 PAX_FORMAT:12; do
	fmt=${c%%:*} gib=${c#*:}
	n=g-$fmt-$gib
	mkgiant "$n.tar" "$fmt" "$gib"
	check "setup: $n.tar is 32 KiB" test "$(stat -c %s "$n.tar")" = 32768
	read -r w rc < <(written 16384 "$HY" reshard "$n.tar" -o "o-$n" -q)
	expect_rc 2 "$n: truncated giant member fails the shard"
	expect_err "$n\.tar: .*'k3\.jpg'.*[Tt]runcated" \
		"$n: stderr names the shard, the member and the truncation"
	check "$n: under 1 MiB written ($w bytes), not the declared $gib GiB" \
		test "$w" -lt $((1 << 20))
	check "$n: no output and no temporary file" \
		test -z "$(ls -A "o-$n")"

	read -r w rc < <(written 16384 "$HY" extract "$n.tar" -o "x-$n" -q)
	expect_rc 2 "$n: extract fails the shard"
	expect_err "$n\.tar: offset [0-9]+: cannot read the body of member 'k3\.jpg'" \
		"$n: extract names the member as the shard does"
	check "$n: extract leaves nothing" test -z "$(ls -A "x-$n")"
done
finish
