#!/usr/bin/env bash
# verify checks the final shards against the inputs, the edits and
# generate's record: the offline pipeline (scan, prompts --api none,
# generate --image-api none, reshard) verifies with every --leftover policy
# and the privacy table says what became of the face samples; outputs
# without a generate record, and each injected fault, exit 2 with a line
# naming the file and the offset or key.
TEST_NAME=verify
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
S=$SHARDS

# row LABEL N: the privacy table of out.txt has "LABEL   N".
row() { grep -Eq "^ +$1 +$2\$" out.txt; }

run_hy scan "$S" -o cap -q --no-fsync
expect_rc 0 "setup: scan"
run_hy prompts -i cap -o pr --api none --lang any -q --no-fsync
expect_rc 0 "setup: prompts --api none"
faces=$(python3 -c '
import json, glob
print(sum(len(json.load(open(f))) for f in glob.glob("cap/*.json")))')
check "setup: the fixtures have face samples ($faces)" test "$faces" -gt 0

for policy in blur drop keep; do
	run_hy generate -p pr -s "$S" -o "ed-$policy" --image-api none \
		--leftover "$policy" -q --no-fsync
	expect_rc 0 "setup: generate --leftover $policy"
	run_hy reshard "$S" -e "ed-$policy" -o "out-$policy" -q --no-fsync
	expect_rc 0 "setup: reshard of --leftover $policy"
	run_hy verify "$S" -e "ed-$policy" -o "out-$policy" -q -j 2 \
		--json "rep-$policy.json"
	expect_rc 0 "--leftover $policy: the outputs verify"
	check "--leftover $policy: nothing on stderr" test ! -s err.txt
	check "--leftover $policy: 3 shards ok" grep -Eq '^ +ok +3$' out.txt
	check "--leftover $policy: $faces face samples" row "face samples" "$faces"
	check "--leftover $policy: no violation" \
		bash -c 'grep -Eq "^ +no record \(violation\) +0$" out.txt &&
			 grep -Eq "^ +mismatches \(violation\) +0$" out.txt'
	check "--leftover $policy: the JSON report agrees" python3 - \
		"rep-$policy.json" "$faces" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
ok = (r["ok"] and r["shards"] == 3 and r["shards_failed"] == 0
      and t["samples"] == 120 and t["problems"] == 0
      and t["privacy"]["face_samples"] == int(sys.argv[2])
      and len(r["per_shard"]) == 3
      and sum(s["samples"] for s in r["per_shard"]) == 120)
sys.exit(0 if ok else "report: %r" % t)
PY
done
run_hy verify "$S" -e ed-blur -o out-blur -q --json -
check "--json -: the JSON report on stdout, instead of the table" python3 -c '
import json; r = json.load(open("out.txt"))
raise SystemExit(0 if r["ok"] and r["totals"]["edited_json_checked"] > 0 else 1)'
run_hy verify "$S" -e ed-blur -o out-blur -q
check "blur: every face sample blurred" row blurred "$faces"
check "blur: the reason is listed" grep -q 'no image server' out.txt
check "blur: each edited KEY.json checked against its image" \
	grep -Eq "^ +edited KEY.json +$faces\$" out.txt
run_hy verify "$S" -e ed-drop -o out-drop -q
check "drop: every face sample dropped" row dropped "$faces"
check "drop: dropped samples counted" grep -Eq "^ +dropped samples +$faces\$" out.txt
run_hy verify "$S" -e ed-keep -o out-keep -q
check "keep: kept by policy reported" row "kept by policy" "$faces"
check "keep: ... with their original photo" row "with original photo" "$faces"

# No generate record: every face sample still has its photo.
mkdir empty
run_hy reshard "$S" -e empty -o out-none -q --no-fsync
expect_rc 0 "setup: reshard with an empty edits folder"
run_hy verify "$S" -e empty -o out-none -q --json rep-none.json
expect_rc 2 "no generate record: exit 2"
check "no generate record: all face samples counted as violations" \
	row "no record \(violation\)" "$faces"
expect_err "out-none/00000000.tar: 16 face samples still carry the original photo, and the shard has no generate record \(empty/00000000/.generate.json is missing: generate has not run for it\); the first: sample '000000000001'" \
	"no generate record: one line a shard, with the count and the first key"
check "no generate record: one line for each shard" \
	bash -c '[ $(grep -c "no generate record" err.txt) -eq 3 ]'
check "no generate record: JSON says not ok" python3 -c '
import json; r = json.load(open("rep-none.json"))
raise SystemExit(0 if not r["ok"] and r["totals"]["privacy"]["no_record"] > 0 else 1)'

# Faults, each on a fresh copy of the blurred outputs.
fresh() { rm -rf o && cp -r out-blur o && chmod -R u+w o; }
n0=00000000

fresh
python3 - o/$n0.tar <<'PY'
import sys, tarfile
t = tarfile.open(sys.argv[1])
m = [m for m in t if m.name.endswith(".txt")][3]
t.close()
with open(sys.argv[1], "r+b") as f:
    f.seek(m.offset_data + 2)
    b = f.read(1)
    f.seek(m.offset_data + 2)
    f.write(bytes([b[0] ^ 0x20]))
open("member.txt", "w").write(m.name)
open("offset.txt", "w").write(str(m.offset_data + 2))
PY
run_hy verify "$S" -e ed-blur -o o -q
expect_rc 2 "a byte flipped in a member body"
expect_err "o/$n0.tar: offset $(cat offset.txt): sample '[0-9]+': member '$(cat member.txt)' differs from the input member at byte 2 of its body" \
	"flipped byte: file, offset, key and byte named"
check "flipped byte: the other shards still verify" grep -Eq '^ +ok +2$' out.txt

fresh
size=$(stat -c %s o/$n0.tar)
truncate -s $((size / 2 + 100)) o/$n0.tar
run_hy verify "$S" -e ed-blur -o o -q
expect_rc 2 "a truncated output"
expect_err "o/$n0.tar: offset [0-9]+: truncated" "truncated: file and offset named"

fresh
rm o/$n0.tar
run_hy verify "$S" -e ed-blur -o o -q
expect_rc 2 "a missing output"
expect_err "o/$n0.tar: missing" "missing output named"

# A sample left out, and two samples swapped: Python's tarfile rewrites
# the output (pax, which the strict parser accepts).
cat >rewrite.py <<'PY'
import io, sys, tarfile
path, mode = sys.argv[1:3]
with tarfile.open(path) as src:
    ms = [(m, src.extractfile(m).read()) for m in src]
key = lambda m: m.name.split(".")[0]
keys = list(dict.fromkeys(key(m) for m, _ in ms))
a, b = keys[5], keys[6]
out = []
for m, d in ms:
    if key(m) == a:
        continue  # left out, or moved behind b
    out.append((m, d))
    if mode == "swap" and key(m) == b and m.name.endswith(".json"):
        out += [(x, y) for x, y in ms if key(x) == a]
with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
    for m, d in out:
        t.addfile(m, io.BytesIO(d))
print(a)
PY
for mode in gone swap; do
	fresh
	k=$(python3 rewrite.py o/$n0.tar $mode)
	run_hy verify "$S" -e ed-blur -o o -q
	expect_rc 2 "$mode: a sample missing or out of order"
	expect_err "o/$n0.tar: offset [0-9]+: sample '$k': missing from the output or out of order: the output has '$(printf '%s' "$k" | sed 's/[0-9]$//')[0-9]\.jpg'" \
		"$mode: the sample named by key"
done

# An edit changed after reshard: its output member no longer equals it.
fresh
rm -rf e2 && cp -r ed-blur e2 && chmod -R u+w e2
img=$(cd e2/$n0 && ls ./*.jpg | head -1)
img=${img#./}
printf 'x' >>"e2/$n0/$img"
run_hy verify "$S" -e e2 -o o -q
expect_rc 2 "an edit file changed after reshard"
expect_err "o/$n0.tar: offset [0-9]+: sample '${img%.jpg}': member '$img' has [0-9]+ bytes, e2/$n0/$img has [0-9]+" \
	"changed edit: output file, offset, key and edit named"

# An edited KEY.json whose sha256 is not its image's (resharded so).
rm -rf e3 o3 && cp -r ed-blur e3 && chmod -R u+w e3
js=e3/$n0/${img%.jpg}.json
python3 - "$js" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["sha256"] = "0" * 64
json.dump(d, open(p, "w"))
PY
run_hy reshard "$S" -e e3 -o o3 -q --no-fsync
expect_rc 0 "setup: reshard with a KEY.json edit whose sha256 is wrong"
run_hy verify "$S" -e e3 -o o3 -q
expect_rc 2 "an edited KEY.json whose sha256 is not its image's"
expect_err "o3/$n0.tar: offset [0-9]+: sample '${img%.jpg}': edited KEY.json says sha256 0{64}, image member '$img' has [0-9a-f]{64}" \
	"wrong sha256: file, key and both hashes named"

# A replaced photo whose KEY.json was not edited still describes it.
rm -rf e6 o6 && cp -r ed-blur e6 && chmod -R u+w e6 && rm "e6/$n0/${img%.jpg}.json"
run_hy reshard "$S" -e e6 -o o6 -q --no-fsync
expect_rc 0 "setup: reshard with a photo edit but no KEY.json edit"
run_hy verify "$S" -e e6 -o o6 -q
expect_rc 2 "a replaced photo whose KEY.json was not edited"
expect_err "o6/$n0.tar: sample '${img%.jpg}': photo '$img' replaced by an edit, but KEY.json was not edited" \
	"unedited KEY.json beside a replaced photo named by key"

# Outputs of --leftover blur against the record of --leftover drop: the
# first dropped sample is still there.
run_hy verify "$S" -e ed-drop -o out-blur -q
expect_rc 2 "a dropped sample present in the output"
expect_err "out-blur/$n0.tar: offset [0-9]+: sample '[0-9]+': its fate is \"dropped\" but the output has its member '[0-9]+\.jpg'" \
	"dropped-but-present named by key"

# A record saying "synthetic" for a sample whose photo is the original.
rm -rf e4 && mkdir -p e4/$n0
key=$(python3 -c '
import json; print(sorted(json.load(open("cap/00000000.json")))[0][:-5])')
printf '{"samples": [{"key": "%s", "fate": "synthetic"}]}\n' "$key" \
	>e4/$n0/.generate.json
run_hy verify "$S/$n0.tar" -e e4 -o out-none -q
expect_rc 2 "a record saying synthetic for an original photo"
expect_err "out-none/$n0.tar: sample '$key': generate recorded it as \"synthetic\" but the output still carries its original photo" \
	"synthetic-but-original named by key"
check "synthetic-but-original counted as a mismatch" \
	row "mismatches \(violation\)" 1

# A pax header with a bad checksum: a long name makes reshard write one.
long=dir/$(printf 'k%.0s' $(seq 1 150))
tt build in.tar pax <<PY
[("k0.jpg", "zero"), ("k0.json", "{}"),
 ("$long.jpg", {"random": 600, "seed": 1}), ("$long.json", "{}"),
 ("k2.jpg", "two"), ("k2.json", "{}")]
PY
mkdir e5
run_hy reshard in.tar -e e5 -o o5 -q --no-fsync
expect_rc 0 "setup: reshard of a long-named member (pax header)"
run_hy verify in.tar -e e5 -o o5 -q
expect_rc 0 "the pax output verifies as written"
pax=$(python3 - o5/in.tar <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    off = [m.offset for m in t if len(m.name) > 100][0]
d = bytearray(open(sys.argv[1], "rb").read())
assert d[off + 156:off + 157] == b"x", "no pax header"
d[off + 1] ^= 0x01  # its name: the checksum no longer matches
open(sys.argv[1], "wb").write(d)
print(off)
PY
)
# What a lenient reader makes of it, for the record: bsdtar (libarchive,
# as our reader) skips the damaged header, warns and may exit 0 with the
# member under its cut ustar name; GNU tar fails; Python stops early.
bsdtar -tf o5/in.tar >bsd.txt 2>bsd.err
echo "# note: bsdtar exits $? on a bad pax checksum, listing $(wc -l <bsd.txt) names, $(grep -c '\.jpg$' bsd.txt) of 3 .jpg intact"
run_hy verify in.tar -e e5 -o o5 -q
expect_rc 2 "a pax header with a bad checksum"
expect_err "o5/in.tar: offset $pax: header checksum mismatch.*strict tar check" \
	"bad pax checksum: the strict parser names file and offset"

# Every tar dialect of the fixtures, resharded without edits, verifies
# (--min-faces above any box count: structure only, no privacy rows).
V=$FIX/tar-variants
for f in bsdtar-pax bsdtar-ustar gnutar-gnu gnutar-posix python-gnu python-ustar; do
	run_hy reshard "$V/$f.tar" -o ov -q --no-fsync
	run_hy verify "$V/$f.tar" -e empty -o ov -q --min-faces 1000
	expect_rc 0 "$f: resharded without edits, verifies"
done
run_hy verify "$V/python-ustar.tar.gz" -e empty -o ov -q --min-faces 1000
expect_rc 0 "a .tar.gz input against its resharded .tar"

# Members that are not plain files: folders, links, a sparse file (pax
# GNU.sparse 1.0 in the output), long and non-ASCII names.
mkdir -p src/part1/é
(
	cd src || exit 1
	printf 'head' >part1/sp.jpg && truncate -s 1M part1/sp.jpg && printf 'tail' >>part1/sp.jpg
	echo '{}' >part1/sp.json
	ln -s sp.jpg part1/ln.jpg
	ln part1/sp.json part1/hl.json
	echo x >"part1/$(printf 'a%.0s' $(seq 1 150)).jpg"
	echo y >part1/é/k.jpg
)
list=$(cd src && find part1 | sort)
# shellcheck disable=SC2086
tar --no-recursion --sparse --format=posix -cf special.tar -C src $list
run_hy reshard special.tar -o os -q --no-fsync
expect_rc 0 "setup: reshard of folders, links, a sparse file, long names"
run_hy verify special.tar -e empty -o os -q
expect_rc 0 "folders, links, a sparse member and long names verify"
check "the sparse member came out sparse (pax GNU.sparse)" python3 -c '
import sys, tarfile
sys.exit(not tarfile.open("os/special.tar").getmember("part1/sp.jpg").issparse())'

# --rank/--world: each rank checks its own shards.
run_hy verify "$S" -e ed-blur -o out-blur -q --rank 1 --world 2
expect_rc 0 "rank 1 of 2"
check "rank 1 of 2 checks 1 of the 3 shards" grep -Eq '^ +shards checked +1$' out.txt

# The JSON report of a failed run names the problems per shard.
fresh
rm o/00000001.tar
run_hy verify "$S" -e ed-blur -o o -q --json rep-bad.json
expect_rc 2 "a failed run with --json"
check "JSON: the failed shard and its message" python3 -c '
import json; r = json.load(open("rep-bad.json"))
bad = [s for s in r["per_shard"] if not s["ok"]]
raise SystemExit(0 if not r["ok"] and r["shards_failed"] == 1
    and bad[0]["name"] == "00000001" and "missing" in bad[0]["messages"][0]
    else 1)'

# Usage.
run_hy verify "$S" -o out-blur
expect_rc 1 "-e is required"
run_hy verify "$S" -e ed-blur -o no-such-dir
expect_rc 1 "an -o folder that does not exist is bad usage"
check "verify creates nothing" test ! -e no-such-dir
finish
