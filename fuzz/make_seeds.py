#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/corpus/*) from ../shared/fixtures:
real KEY.json records and small tars in every dialect. Re-run after the
fixtures change; the output is committed (a few KB a file)."""
import gzip, io, os, sys, tarfile

root = os.path.dirname(os.path.abspath(__file__))
fix = os.path.join(root, "..", "..", "shared", "fixtures")
out = os.path.join(root, "corpus")
shard = os.path.join(fix, "datacomp-mini", "shards", "00000000.tar")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


members = []
with tarfile.open(shard) as t:
    for m in t.getmembers()[:12]:
        members.append((m, t.extractfile(m).read()))

for m, data in members:
    if m.name.endswith(".json"):
        put("meta", m.name, data)
put("meta", "lone-surrogate.json", b'{"caption": "Jos\\ud83d \\udc00x", "face_bboxes": [[0,0,1,1]]}')
put("meta", "bad.json", b'{"caption": "x", "face_bboxes": [[0,0,1,1]')
put("meta", "not-object.json", b'[{"caption": "x"}]')

def small_tar(fmt, long_names=False, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for m, data in members[:6]:
            body = data[:64] if m.name.endswith(".jpg") else data
            ti = tarfile.TarInfo(("x" * 120 + "/" if long_names else "") + m.name)
            ti.size = len(body)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(body))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw

put("shard", "ustar.tar", small_tar(tarfile.USTAR_FORMAT))
put("shard", "gnu-long.tar", small_tar(tarfile.GNU_FORMAT, long_names=True))
put("shard", "pax-long.tar", small_tar(tarfile.PAX_FORMAT, long_names=True))
put("shard", "ustar.tar.gz", small_tar(tarfile.USTAR_FORMAT, gz=True))
put("shard", "truncated.tar", small_tar(tarfile.USTAR_FORMAT)[:1500])

for i, w in enumerate([b"src/{00000000..00000012}.tar", b"{a,b{1,2}}x{3..1}",
                       b"a{b}c{", b"{-3..03}", b"{1..2}{1..2}{1..2}"]):
    put("braces", "w%d" % i, w)

for i, s in enumerate([b"plain", b"caf\xc3\xa9 \xf0\x9f\x98\x80", b"bad \xff\xfe \xc0\xaf",
                       b"ctl \x00\x01\x1f\"\\", b"\xed\xa0\x80 cesu"]):
    put("jsonw", "s%d" % i, s)
print("seeds written to", out)
