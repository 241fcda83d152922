#!/usr/bin/env bash
# generate --leftover blur|drop|keep for face samples without a synthetic
# image, end to end through reshard: dropped samples leave the shards, kept
# ones pass untouched, blurred ones have their face boxes blurred and
# nothing else changed; fates mixed with synthetic images.
TEST_NAME=generate_leftover
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"
export SHARDS


# python3 lcheck.py RULE ARGS: exit 0 when the rule holds, else the first
# problems on stdout.
cat >lcheck.py <<'PY'
import glob, hashlib, json, os, subprocess, sys, tarfile

SHARDS = os.environ["SHARDS"]
IMGTOOL = os.environ["IMGTOOL"]
ERASED = {"url", "exif"}


def members(path):
    """[(name, bytes)] of the regular files, in order."""
    with tarfile.open(path) as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]


def key_of(name):
    base = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(base)] + base.split(".", 1)[0]


def inputs():
    for p in sorted(glob.glob(os.path.join(SHARDS, "*.tar"))):
        mem = members(p)
        meta = {key_of(n): json.loads(b) for n, b in mem if n.endswith(".json")}
        yield os.path.basename(p)[:-4], mem, meta


def faces(meta, k, min_faces=1):
    return len(meta[k].get("face_bboxes") or []) >= min_faces


rule, args = sys.argv[1], sys.argv[2:]
problems = []
for name, mem, meta in inputs():
    if rule == "fates":
        # fates EDITS FATE [MIN_FACES]: every face sample listed with FATE
        edits, fate = args[0], args[1]
        mf = int(args[2]) if len(args) > 2 else 1
        try:
            got = json.load(open(os.path.join(edits, name, ".generate.json")))["samples"]
        except Exception as e:
            problems.append("%s: .generate.json: %s" % (name, e))
            continue
        want = [k for k in meta if faces(meta, k, mf)]
        if sorted(s["key"] for s in got) != sorted(want):
            problems.append("%s: listed %d samples, %d face samples" % (name, len(got), len(want)))
        bad = [s for s in got if s["fate"] != fate or not s.get("reason")]
        if bad:
            problems.append("%s: %s" % (name, bad[:2]))
        continue
    if rule == "empty":
        # empty EDITS: no sample file, only dot files
        files = [f for f in os.listdir(os.path.join(args[0], name)) if not f.startswith(".")]
        if files:
            problems.append("%s: files %s" % (name, files[:4]))
        continue
    out = members(os.path.join(args[0], name + ".tar"))
    if rule == "dropped":
        # dropped OUT: the face samples' members gone, the rest unchanged
        want = [(n, b) for n, b in mem if not faces(meta, key_of(n))]
        if [n for n, _ in out] != [n for n, _ in want]:
            gone = {key_of(n) for n, _ in mem} - {key_of(n) for n, _ in out}
            problems.append("%s: members differ; samples gone: %d, want %d" %
                            (name, len(gone), len({key_of(n) for n, _ in mem} - {key_of(n) for n, _ in want})))
        elif out != want:
            problems.append("%s: bytes differ" % name)
    elif rule == "same":
        # same OUT: every member byte-equal, same names and order
        if [n for n, _ in out] != [n for n, _ in mem]:
            problems.append("%s: member names differ" % name)
        elif out != mem:
            problems.append("%s: %s" % (name, [n for (n, b), (_, c) in zip(out, mem) if b != c][:3]))
    elif rule in ("blurred", "mixed"):
        # blurred OUT: face samples' image blurred inside their boxes only,
        # their JSON de-identified, everything else byte-equal.
        # mixed OUT EDITS PROMPTS: the same for the samples without a
        # prompt; the others carry the synthetic files of EDITS.
        prompts = {}
        if rule == "mixed":
            pf = os.path.join(args[2], name + ".json")
            prompts = json.load(open(pf)) if os.path.exists(pf) else {}
        if [n for n, _ in out] != [n for n, _ in mem]:
            problems.append("%s: member names differ" % name)
            continue
        tmp = os.path.join(os.getcwd(), "lcheck.tmp")
        os.makedirs(tmp, exist_ok=True)
        outd = dict(out)
        for n, b in mem:
            k = key_of(n)
            o = outd[n]
            if not faces(meta, k):
                if o != b:
                    problems.append("%s: non-face member %s changed" % (name, n))
                continue
            if (k + ".json") in prompts and prompts[k + ".json"].strip():
                ext = n.split(".", 1)[1] if "." in n.rsplit("/", 1)[-1] else ""
                e = open(os.path.join(args[1], name, k + "." + ext), "rb").read()
                if o != e:
                    problems.append("%s: synthetic member %s is not the edit" % (name, n))
                continue
            if n.endswith(".txt") and o != b:
                problems.append("%s: caption %s changed" % (name, n))
            elif n.endswith(".json"):
                m = json.loads(o)
                if "deidentified" not in m or ERASED & set(m):
                    problems.append("%s: %s: deidentified %r, keys %s" % (name, n, m.get("deidentified"), sorted(ERASED & set(m))))
                jp = dict(out).get(n[:-5] + ".jpg")
                if jp is not None and m.get("sha256") != hashlib.sha256(jp).hexdigest():
                    problems.append("%s: %s: sha256 is not the blurred image's" % (name, n))
                for f, v in meta[k].items():
                    if f not in ERASED | {"sha256", "deidentified"} and m.get(f) != v:
                        problems.append("%s: %s: field %s changed" % (name, n, f))
            elif n.endswith(".jpg"):
                if o == b:
                    problems.append("%s: %s not blurred" % (name, n))
                    continue
                a_, b_ = os.path.join(tmp, "a.jpg"), os.path.join(tmp, "b.jpg")
                open(a_, "wb").write(b)
                open(b_, "wb").write(o)
                boxes = [",".join(repr(float(c)) for c in bx) for bx in meta[k]["face_bboxes"]]
                r = subprocess.run([IMGTOOL, "boxdiff", a_, b_, "16"] + boxes, capture_output=True, text=True)
                try:
                    _, inside, _, outside = r.stdout.split()
                    inside, outside = float(inside), int(outside)
                except ValueError:
                    problems.append("%s: %s: imgtool: %s%s" % (name, n, r.stdout, r.stderr))
                    continue
                if not (inside > 5 and outside == 0):
                    problems.append("%s: %s: inside %.2f outside %d" % (name, n, inside, outside))
    else:
        sys.exit("unknown rule " + rule)
print("; ".join(problems[:4]) + (" (%d problems)" % len(problems) if problems else ""))
sys.exit(1 if problems else 0)
PY
lcheck() {
	local d=$1 msg
	shift
	if msg=$(python3 lcheck.py "$@" 2>&1); then ok "$d"; else fail "$d: $msg"; fi
}

# --- 6. leftovers offline (--image-api none), then reshard ----------------------
for lo in blur drop keep; do
	run_hy generate -s "$SHARDS" -o "L$lo" --image-api none --leftover "$lo" -q
	expect_rc 0 "--image-api none --leftover $lo"
	run_hy reshard "$SHARDS" -e "L$lo" -o "O$lo" -q
	expect_rc 0 "reshard of the --leftover $lo edits"
done
lcheck "blur: every face sample blurred (fate and reason)" fates Lblur blurred
lcheck "drop: every face sample dropped" fates Ldrop dropped
lcheck "keep: every face sample kept" fates Lkeep kept
lcheck "drop: no sample file written" empty Ldrop
lcheck "keep: no sample file written" empty Lkeep
lcheck "drop: the face samples' members left out, the rest byte-equal" dropped Odrop
lcheck "keep: every member byte-equal to the input" same Okeep
lcheck "blur: faces blurred inside their boxes only, JSON de-identified, the rest byte-equal" blurred Oblur
check "blur: blurred samples write no KEY.txt" test -z "$(find Lblur -name '*.txt')"
check "blur: no .part left" test -z "$(find Lblur -name '.*part*')"

run_hy generate -s "$SHARDS" -o Lmf --image-api none --leftover drop --min-faces 2 -q
expect_rc 0 "--min-faces 2"
lcheck "--min-faces 2: only samples with two boxes or more are face samples" fates Lmf dropped 2

# --- leftovers mixed with synthetic images ---------------------------------------
"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null
# Every third face prompt is missing: as if the LLM declined it.
python3 - <<'PY'
import glob, json, os
os.makedirs("pm", exist_ok=True)
for f in sorted(glob.glob("pr/*.json")):
    p = json.load(open(f))
    keep = {k: v for i, (k, v) in enumerate(sorted(p.items())) if i % 3}
    json.dump(keep, open(os.path.join("pm", os.path.basename(f)), "w"), indent=4)
PY
start_fake PA --slots 2
run_hy generate -p pm -s "$SHARDS" -o Lmix -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 0 "a1111 with prompts missing for some face samples"
check "mixed: synthetic for a prompt, blurred without one" python3 - <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob("Lmix/*/.generate.json")):
    name = os.path.basename(os.path.dirname(f))
    p = json.load(open("pm/%s.json" % name))
    fates = json.load(open(f))["samples"]
    for s in fates:
        want = "synthetic" if p.get(s["key"] + ".json", "").strip() else "blurred"
        if s["fate"] != want:
            print(s, want)
            sys.exit(1)
    if len({s["fate"] for s in fates}) != 2:
        sys.exit(1)
PY
check "mixed: the reason of a missing prompt is given" grep -q '"fate": "blurred", "reason": "no prompt' Lmix/00000000/.generate.json
run_hy reshard "$SHARDS" -e Lmix -o Omix -q
expect_rc 0 "reshard of the mixed edits"
lcheck "mixed: synthetic samples replaced, the others blurred, the rest byte-equal" mixed Omix Lmix pm

# --- a sample the image server refuses (HTTP 413: a prompt over 1 MiB) ----------
rm -rf pbig
mkdir pbig
python3 - <<'PY'
import json
p = json.load(open("pr/00000000.json"))
p["000000000004.json"] = "A person standing " * 70000
json.dump(p, open("pbig/00000000.json", "w"))
PY
run_hy generate -p pbig -s "$SHARDS/00000000.tar" -o Lref -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 0 "a sample refused for good does not fail the run"
expect_err "00000000\.tar: sample '000000000004': refused by the image server: .*HTTP 413" "the refusal is named with the key"
check "refused: blurred (the default leftover)" grep -q '"key": "000000000004", "fate": "blurred", "reason": "refused by the image server' Lref/00000000/.generate.json
check "refused: no synthetic files for it" test ! -e Lref/00000000/000000000004.txt
run_hy generate -p pbig -s "$SHARDS/00000000.tar" -o Lrefd --leftover drop -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 0 "refused with --leftover drop"
run_hy reshard "$SHARDS/00000000.tar" -e Lrefd -o Orefd -q
expect_rc 0 "reshard of it"
check "refused + drop: the sample is left out of the shard, the others kept" python3 - <<'PY'
import json, sys, tarfile
names = [m.name for m in tarfile.open("Orefd/00000000.tar")]
keys = {n.split(".")[0] for n in names}
fates = {s["key"]: s["fate"] for s in json.load(open("Lrefd/00000000/.generate.json"))["samples"]}
want_gone = {k for k, f in fates.items() if f == "dropped"}
sys.exit(0 if "000000000004" in want_gone and not keys & want_gone and len(keys) == 40 - len(want_gone) else 1)
PY

stop_fakes
finish
