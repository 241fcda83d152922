#!/usr/bin/env bash
# scan reads a sample's .json / .txt into memory up to 16 MiB. A bigger one
# is a bad sample: named on stderr with the shard, the offset of its header
# and the member, counted under "bad samples", exit 2; the rest of the
# shard is scanned and its faces are in the output. A key longer than any
# fixed name buffer (5000 characters, a pax long name) comes out whole.
TEST_NAME=scan_oversized_member
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

python3 - <<'PY'
import io, json, tarfile

def meta(i, nfaces=1, pad=0):
    d = {"caption": "caption %d" % i, "face_bboxes": [[0.1, 0.2, 0.3, 0.4]] * nfaces}
    s = json.dumps(d)
    return (s[:-1] + " " * pad + "}").encode()

def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(data))

with tarfile.open("big.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    for i in range(6):
        k = "%03d" % i
        add(t, k + ".jpg", b"\xff\xd8" + bytes(1000))
        add(t, k + ".txt", b"text %d" % i)
        add(t, k + ".json", meta(i, pad=17 << 20 if i == 2 else 0))

long = "d/" + "k" * 4996   # key of 4998 characters, name of 5003
with tarfile.open("longkey.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "000.jpg", b"x"); add(t, "000.json", meta(0))
    add(t, long + ".jpg", b"y"); add(t, long + ".json", meta(7, nfaces=2))
    add(t, "001.jpg", b"z"); add(t, "001.json", meta(1))
open("longkey.name", "w").write(long + ".json")
PY
check "setup: 002.json is valid JSON over 16 MiB" python3 -c '
import json, sys, tarfile
t = tarfile.open("big.tar"); m = t.getmember("002.json")
json.loads(t.extractfile(m).read())
sys.exit(not m.size > 16 << 20)'
off=$(tt offsets big.tar | awk '$5 == "002.json" { print $2 }')

run_hy scan big.tar -o caps -q
expect_rc 2 "scan of a shard with a 17 MiB .json"
expect_err "big\.tar: offset $off: .*002\.json" \
	"the oversized member is named with the shard and its header offset ($off)"
check "summary: bad samples >= 1" bash -c \
	'n=$(awk "/bad samples/ { print \$3 }" out.txt); [ -n "$n" ] && [ "$n" -ge 1 ]'
check "the other face samples are in the output" python3 -c '
import json, sys
d = json.load(open("caps/big.json"))
want = {"%03d.json" % i: "caption %d" % i for i in (0, 1, 3, 4, 5)}
sys.exit(d != want)'

run_hy scan longkey.tar -o lk -q
expect_rc 0 "scan of a shard with a 5000-character key"
check "the long key is in the output, whole" python3 -c '
import json, sys
d = json.load(open("lk/longkey.json"))
name = open("longkey.name").read()
sys.exit(d != {"000.json": "caption 0", name: "caption 7", "001.json": "caption 1"})'
finish
