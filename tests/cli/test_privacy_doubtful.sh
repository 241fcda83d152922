#!/usr/bin/env bash
# Privacy first (README, "Privacy rules"): a face sample whose metadata,
# key or photos are doubtful is blurred whole or dropped, with the reason
# recorded, and never ships as it is; `run` and `verify` agree. Each case
# here once shipped an original face photo while both said all was fine:
# malformed face_bboxes, JSON that Python reads (NaN, Infinity, duplicate
# keys), a second image member, keys with a dot component, keys that climb
# out with '..' or are absolute, and a key too long for a file name.
TEST_NAME=privacy_doubtful
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
IMG=${IMGTOOL:-$ROOT/build/imgtool}

tar -xf "$SHARDS/00000000.tar" 000000000001.jpg 000000000004.jpg 000000000007.jpg
P1=$T/000000000001.jpg
P2=$T/000000000004.jpg
P3=$T/000000000007.jpg
B='"face_bboxes": [[0.2, 0.2, 0.6, 0.7]]'
LONG=$(printf 'L%.0s' $(seq 300))

# name, key, body; keys in SPEC.md's sense
tt build s.tar pax <<PY
[
 ("ok.jpg", {"file": "$P1"}), ("ok.json", '{"caption": "fine", $B}'),
 ("pair.jpg", {"file": "$P1"}), ("pair.json", '{"caption": "c", "face_bboxes": [[0.1, 0.2]]}'),
 ("str.jpg", {"file": "$P2"}), ("str.json", '{"caption": "c", "face_bboxes": [["0.2", "0.2", "0.6", "0.7"]]}'),
 ("null.jpg", {"file": "$P3"}), ("null.json", '{"caption": "c", "face_bboxes": [null]}'),
 ("pix.jpg", {"file": "$P1"}), ("pix.json", '{"caption": "c", "face_bboxes": [[12, 20, 60, 70]]}'),
 ("zero.jpg", {"file": "$P2"}), ("zero.json", '{"caption": "c", "face_bboxes": [[0.3, 0.3, 0.3, 0.6]]}'),
 ("inf.jpg", {"file": "$P3"}), ("inf.json", '{"caption": "c", "face_bboxes": [[0.1, 0.2, Infinity, 0.6]]}'),
 ("nan.jpg", {"file": "$P1"}), ("nan.json", '{"caption": "c", "similarity": NaN, $B}'),
 ("dup.jpg", {"file": "$P2"}), ("dup.json", '{"caption": "c", "face_bboxes": [], $B}'),
 ("two.jpg", {"file": "$P1"}), ("two.JPG", {"file": "$P2"}), ("two.json", '{"caption": "c", $B}'),
 (".hidden/x.jpg", {"file": "$P3"}), (".hidden/x.json", '{"caption": "c", $B}'),
 ("a/.b/x.jpg", {"file": "$P1"}), ("a/.b/x.json", '{"caption": "c", $B}'),
 ("d/.jpg", {"file": "$P2"}), ("d/.json", '{"caption": "c", $B}'),
 ("../../../esc/000002.jpg", {"file": "$P3"}), ("../../../esc/000002.json", '{"caption": "c", $B}'),
 ("/data/x/000003.jpg", {"file": "$P1"}), ("/data/x/000003.json", '{"caption": "c", $B}'),
 ("$LONG/k.jpg", {"file": "$P2"}), ("$LONG/k.json", '{"caption": "c", $B}'),
 ("plain.jpg", {"file": "$P3"}), ("plain.json", '{"caption": "no faces", "face_bboxes": []}'),
]
PY

# fates FILE: "KEY FATE REASON" lines of a .generate.json, sorted
fates() {
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["samples"]:
    print(s["key"][:40], s["fate"], s.get("reason", ""))' "$1" | sort
}
# fate_is KEY FATE REGEX: KEY's record has FATE and a reason matching REGEX
fate_is() {
	python3 - "$W/edits/${S:-s}/.generate.json" "$@" <<'PY'
import json, re, sys
rec = {s["key"]: s for s in json.load(open(sys.argv[1]))["samples"]}
k, fate, why = sys.argv[2:5]
s = rec.get(k)
if not s or s["fate"] != fate or not re.search(why, s.get("reason", "")):
    print("%s: %r" % (k, s), file=sys.stderr)
    sys.exit(1)
PY
}

W=w
run_hy run s.tar -w w --api none --image-api none --leftover blur -q --no-fsync
expect_rc 0 "run over a shard of doubtful face samples"
fates w/edits/s/.generate.json >fates.txt
for k in pair str null pix zero inf; do
	check "$k: malformed face_bboxes -> whole photo blurred, reason recorded" \
		fate_is $k blurred 'face_bboxes.*whole photo'
done
for k in ok nan dup; do
	check "$k: boxes read as Python reads them -> blurred in its boxes" \
		fate_is $k blurred '^no image server[^;]*$'
done
check "two: a second image member -> dropped" fate_is two dropped 'several image members'
for k in .hidden/x a/.b/x d/ ../../../esc/000002 /data/x/000003 "$LONG/k"; do
	check "key '${k:0:30}' cannot be a file name -> dropped" fate_is "$k" dropped 'key cannot name a file'
done
check "no file was written outside the work folder" \
	bash -c '[ ! -e esc ] && [ ! -e w/esc ] && [ ! -e ../esc ] && [ -z "$(find w -name "000002*")" ]'
check "plain (no faces) is not a face sample" bash -c '! grep -q "^plain " fates.txt'
tt names w/shards/s.tar >names.txt
check "dropped samples are not in the output" \
	bash -c '! grep -Eq "^(two|\.hidden/x|a/\.b/x|d/|\.\./\.\./\.\./esc/000002|/data/x/000003)\." names.txt && ! grep -q "^L" names.txt'
check "plain ships as it was" bash -c 'tar -xOf w/shards/s.tar plain.jpg | cmp -s - "'"$P3"'"'
# the whole photo of a malformed-box sample changed, not ~1 pixel
tar -xf w/shards/s.tar pix.jpg ok.jpg
read -r _ whole _ _ < <("$IMG" boxdiff "$P1" pix.jpg 0 0,0,1,1)
check "pix: the whole photo is blurred (mean change $whole)" \
	python3 -c "import sys; sys.exit(not float('$whole') > 5)"
read -r _ inside _ outside < <("$IMG" boxdiff "$P1" ok.jpg 8 0.2,0.2,0.6,0.7)
check "ok: its box blurred ($inside), the rest untouched ($outside)" \
	python3 -c "import sys; sys.exit(not (float('$inside') > 5 and int('$outside') <= 2))"
run_hy verify s.tar -e w/edits -o w/shards -q
expect_rc 0 "verify accepts the result"
run_hy run s.tar -w w --api none --image-api none --leftover blur -q --no-fsync
expect_rc 0 "a second run finds the shard done"

# --leftover keep never ships a doubtful face sample either.
W=wk
run_hy run s.tar -w wk --api none --image-api none --leftover keep -q --no-fsync
expect_rc 0 "run --leftover keep"
check "keep: ok is kept" fate_is ok kept '^no image server'
for k in pair pix inf; do
	check "keep: $k (malformed boxes) is dropped, not kept" fate_is $k dropped 'face_bboxes.*dropped'
done
run_hy verify s.tar -e wk/edits -o wk/shards -q
expect_rc 0 "verify accepts the keep result"

# verify on its own: outputs of broken pipelines (edits changed by hand,
# the shard resharded from them) must fail it.
broken() { # DIR: a copy of w to break
	rm -rf "$1"
	cp -r w "$1"
	rm -f "$1/shards/s.tar"
}
reshard_verify() { # DIR
	"$HY" reshard s.tar -e "$1/edits" -o "$1/shards" -q >/dev/null 2>&1
	run_hy verify s.tar -e "$1/edits" -o "$1/shards" -q
}
# the JSON edit made to agree with the image, so only the pixels tell
fix_json() { # DIR KEY
	python3 - "$1/edits/s/$2" <<'PY'
import hashlib, json, sys
p = sys.argv[1]
d = json.load(open(p + ".json"))
d["sha256"] = hashlib.sha256(open(p + ".jpg", "rb").read()).hexdigest()
json.dump(d, open(p + ".json", "w"))
PY
}
# 1. "blurred" photos that are the original re-encoded
broken b1
"$IMG" reencode "$P1" b1/edits/s/ok.jpg 90
fix_json b1 ok
"$IMG" reencode "$P1" b1/edits/s/pix.jpg 75
fix_json b1 pix
reshard_verify b1
expect_rc 2 "verify: a blurred photo that is the original re-encoded"
expect_err "sample 'ok'.*face region 1 of 1 still shows the original" "names the box of ok"
expect_err "sample 'pix'.*(whole photo).*still shows the original" "names pix, whole photo"
# ... the hardest copy measured (src/stages/verify.c, VERIFY_LEAK_STRAYED):
# shrunk to a third, JPEG quality 30 (its size then differs from KEY.json's
# too, a second problem; the face region is what this checks)
broken b1s
"$IMG" reencode "$P1" b1s/edits/s/ok.jpg 30 3
fix_json b1s ok
reshard_verify b1s
expect_rc 2 "verify: a blurred photo that is the original shrunk to 1/3 at quality 30"
expect_err "sample 'ok'.*face region 1 of 1 still shows the original" "names the box of ok"
# ... and the original with detail of its own laid over it (what a server
# that "enhances" a face returns): a checkerboard of 6 and of 12 pixels,
# +-40 grey levels, 6 pixels at +-80, 24 pixels at +-40
for ov in "6 40" "12 40" "6 80" "24 40"; do
	d=b1o${ov// /-}
	broken "$d"
	"$IMG" reencode "$P1" "$d/edits/s/ok.jpg" 90 1 $ov
	fix_json "$d" ok
	reshard_verify "$d"
	expect_rc 2 "verify: the original under a checkerboard ($ov)"
	expect_err "sample 'ok'.*face region 1 of 1 still shows the original" "names the box of ok ($ov)"
done
# 2. a doubtful sample recorded "kept" and shipped as it was
broken b2
sed -i 's/"key": "two", "fate": "dropped"/"key": "two", "fate": "kept"/' b2/edits/s/.generate.json
rm -f b2/edits/s/pix.*
sed -i 's/"key": "pix", "fate": "blurred"/"key": "pix", "fate": "kept"/' b2/edits/s/.generate.json
reshard_verify b2
expect_rc 2 "verify: doubtful samples kept as they were"
expect_err "sample 'two'.*original photo.*several image members" "names two and why"
expect_err "sample 'pix'.*original photo.*face_bboxes" "names pix and why"
# 3. a second image member left as it was beside a blurred first one
broken b3
cp w/edits/s/ok.jpg b3/edits/s/two.jpg
python3 - b3/edits/s <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/.generate.json"))
for s in r["samples"]:
    if s["key"] == "two":
        s["fate"] = "blurred"
json.dump(r, open(d + "/.generate.json", "w"))
m = json.load(open(d + "/ok.json"))
json.dump(m, open(d + "/two.json", "w"))
PY
reshard_verify b3
expect_rc 2 "verify: only the first of two image members blurred"
expect_err "sample 'two'.*still carries its original photo" "names two"
# 4. and 6. keys the edits cannot hold, recorded as blurred
broken b4
python3 - b4/edits/s <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/.generate.json"))
for s in r["samples"]:
    if s["key"] in (".hidden/x", "../../../esc/000002"):
        s["fate"] = "blurred"
json.dump(r, open(d + "/.generate.json", "w"))
PY
reshard_verify b4
expect_rc 2 "verify: dot and '..' keys recorded as blurred, shipped as they were"
expect_err "sample '\.hidden/x'.*original photo" "names .hidden/x"
expect_err "sample '\.\./\.\./\.\./esc/000002'.*original photo" "names ../../../esc/000002"
# 2. records Python reads differently: their face samples' edits and
# records removed, as a pipeline reading KEY.json with a strict parser (or
# taking the first of duplicate keys) would have left them
broken b5
rm -f b5/edits/s/nan.* b5/edits/s/dup.*
python3 - b5/edits/s <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/.generate.json"))
r["samples"] = [s for s in r["samples"] if s["key"] not in ("nan", "dup")]
json.dump(r, open(d + "/.generate.json", "w"))
PY
reshard_verify b5
expect_rc 2 "verify: NaN and duplicate-key records treated as faceless"
expect_err "sample 'nan'.*original photo" "names nan"
expect_err "sample 'dup'.*original photo" "names dup"
# Photos no stage can edit, and records readers disagree on: a face sample
# with a GIF, with a second image under a two-part extension, or with two
# KEY.json members (the first without faces) is dropped; verify fails any
# of them shipped as it was.
tt build odd.tar <<PY
[
 ("gif.gif", {"file": "$P1"}), ("gif.json", '{"caption": "c", $B}'),
 ("multi.jpg", {"file": "$P2"}), ("multi.small.jpg", {"file": "$P3"}), ("multi.json", '{"caption": "c", $B}'),
 ("dj.json", '{"caption": "c", "face_bboxes": []}'), ("dj.jpg", {"file": "$P1"}), ("dj.json", '{"caption": "c", $B}'),
 ("fine.jpg", {"file": "$P2"}), ("fine.json", '{"caption": "c", $B}'),
]
PY
W=wo S=odd
run_hy run odd.tar -w wo --api none --image-api none --leftover blur -q --no-fsync
expect_rc 2 "run over odd photos and records (the two KEY.json are a bad sample)"
expect_err "odd\.tar: sample 'dj': several KEY\.json" "scan names dj"
check "gif: an image it cannot edit -> dropped" fate_is gif dropped "image member 'gif' cannot be replaced or blurred"
check "multi: a second image (small.jpg) -> dropped" fate_is multi dropped "image member 'small\.jpg' cannot be replaced"
check "dj: two KEY.json members -> dropped" fate_is dj dropped 'several KEY\.json members'
check "fine is blurred" fate_is fine blurred '^no image server'
run_hy verify odd.tar -e wo/edits -o wo/shards -q
expect_rc 0 "verify accepts it"
rm -rf bo && cp -r wo bo && rm -f bo/shards/odd.tar
sed -i 's/"fate": "dropped"/"fate": "kept"/' bo/edits/odd/.generate.json
"$HY" reshard odd.tar -e bo/edits -o bo/shards -q >/dev/null 2>&1
run_hy verify odd.tar -e bo/edits -o bo/shards -q
expect_rc 2 "verify: the three recorded as kept, shipped as they were"
expect_err "sample 'gif'.*no stage can replace or blur" "names gif"
expect_err "sample 'multi'.*(several image members|no stage can replace)" "names multi"
expect_err "sample 'dj'.*several KEY\.json members" "names dj"
finish
