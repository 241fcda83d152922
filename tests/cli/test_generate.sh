#!/usr/bin/env bash
# generate: images from the fake AUTOMATIC1111 and OpenAI images servers
# (tests/servers/fake_llm.c), the files and metadata of each synthetic
# sample, image sizes, determinism, image formats, bad usage and --spawn.
# Faults, failures and resume: test_generate_faults.sh; leftovers through
# reshard: test_generate_leftover.sh.
TEST_NAME=generate
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"


summary_value() { awk -v k="$1" '$0 ~ "^ *"k" " { print $NF; exit }' out.txt; }
# stat_of PORT FIELD: a counter of the server's /stats.
stat_of() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# The checker: python3 gencheck.py RULE EDITS PROMPTS [ARGS]; exit 0 when
# every face sample with a non-empty prompt obeys RULE, else the first
# problems on stdout.
cat >gencheck.py <<'PY'
import glob, hashlib, json, os, subprocess, sys, tarfile

SHARDS = os.environ["SHARDS"]
IMGTOOL = os.environ["IMGTOOL"]


def jpeg_size(b):
    i = 2
    while i + 9 < len(b):
        if b[i] != 0xFF:
            i += 1
            continue
        m = b[i + 1]
        if m in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return (b[i + 7] << 8 | b[i + 8], b[i + 5] << 8 | b[i + 6])
        i += 2 + (b[i + 2] << 8 | b[i + 3])
    return (0, 0)


def shards():
    out = {}
    for p in sorted(glob.glob(os.path.join(SHARDS, "*.tar"))):
        name = os.path.basename(p)[:-4]
        samples = {}
        with tarfile.open(p) as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue
                base = m.name.rsplit("/", 1)[-1]
                key = m.name[: len(m.name) - len(base)] + base.split(".", 1)[0]
                samples.setdefault(key, {})[base.split(".", 1)[1]] = t.extractfile(m).read()
        out[name] = samples
    return out


def imgsize(path):
    r = subprocess.run([IMGTOOL, "size", path], capture_output=True, text=True)
    if r.returncode:
        return None
    w, h, f = r.stdout.split()
    return int(w), int(h), f


rule, edits, prompts = sys.argv[1:4]
args = sys.argv[4:]
problems = []
ERASED = {"url", "exif", "original_width", "original_height"}
EDITED = {"caption", "face_bboxes", "width", "height", "sha256", "synthetic"} | ERASED

for name, samples in shards().items():
    pf = os.path.join(prompts, name + ".json")
    pr = json.load(open(pf, encoding="utf-8")) if os.path.exists(pf) else {}
    d = os.path.join(edits, name)
    faces = []
    for key, mem in samples.items():
        meta = json.loads(mem["json"])
        if len(meta.get("face_bboxes") or []) >= 1:
            faces.append(key)
    if rule == "fates":
        # fates EDITS PROMPTS: synthetic for a non-empty prompt, else the
        # leftover fate ARGS[0]
        try:
            got = [(s["key"], s["fate"]) for s in json.load(open(os.path.join(d, ".generate.json")))["samples"]]
        except Exception as e:
            problems.append("%s: .generate.json: %s" % (name, e))
            continue
        want = [(k, "synthetic" if pr.get(k + ".json", "").strip() else args[0]) for k in faces]
        if sorted(got) != sorted(want):
            problems.append("%s: fates %s, expected %s" % (name, sorted(set(got) ^ set(want)), ""))
        continue
    if rule == "nostray":
        # nothing but the sample files and dot files, no temporary file
        if not os.path.isdir(d):
            problems.append("%s: no folder" % name)
            continue
        for f in sorted(os.listdir(d)):
            if f.startswith("."):  # .generate.json and the tool's own
                if f.endswith(".part") or ".tmp" in f:
                    problems.append("%s: temporary file %s" % (name, f))
                continue
            key, ext = f.split(".", 1)
            if key not in samples or ext not in ("jpg", "txt", "json"):
                problems.append("%s: unexpected file %s" % (name, f))
        continue
    for key in faces:
        prompt = pr.get(key + ".json", "")
        if not prompt.strip():
            continue
        mem = samples[key]
        orig = json.loads(mem["json"])
        jp, tp, mp = (os.path.join(d, key + e) for e in (".jpg", ".txt", ".json"))
        where = "%s/%s" % (name, key)
        if rule == "files":
            for p in (jp, tp, mp):
                if not os.path.isfile(p):
                    problems.append("missing " + p)
            continue
        if not os.path.isfile(mp) or not os.path.isfile(jp):
            problems.append("missing files of " + where)
            continue
        meta = json.load(open(mp, encoding="utf-8"))
        if rule == "txt":
            if not os.path.isfile(tp) or open(tp, "rb").read() != prompt.encode("utf-8"):
                problems.append("%s: KEY.txt is not the prompt" % where)
        elif rule == "caption":
            if meta.get("caption") != prompt or meta.get("face_bboxes") != []:
                problems.append("%s: caption %r, face_bboxes %r" % (where, meta.get("caption"), meta.get("face_bboxes")))
        elif rule == "erased":
            left = ERASED & set(meta)
            if left:
                problems.append("%s: still has %s" % (where, sorted(left)))
        elif rule == "kept":
            for k, v in orig.items():
                if k not in EDITED and meta.get(k, "<absent>") != v:
                    problems.append("%s: field %s changed: %r -> %r" % (where, k, v, meta.get(k, "<absent>")))
            for k in ("uid", "key", "status"):
                if k not in meta:
                    problems.append("%s: %s lost" % (where, k))
        elif rule == "sha":
            h = hashlib.sha256(open(jp, "rb").read()).hexdigest()
            if meta.get("sha256") != h:
                problems.append("%s: sha256 %s, file has %s" % (where, meta.get("sha256"), h))
        elif rule == "imgsize":
            s = imgsize(jp)
            if not s or s[2] != "JPEG" or (meta.get("width"), meta.get("height")) != s[:2]:
                problems.append("%s: imgtool says %s, KEY.json %sx%s" % (where, s, meta.get("width"), meta.get("height")))
        elif rule == "synthetic":
            # synthetic GENERATOR MODEL (- = null)
            sy = meta.get("synthetic")
            model = None if args[1] == "-" else args[1]
            # the seed the server used: A1111 reports it; OpenAI's API
            # reports none, so none is recorded
            seed_ok = "seed" not in sy if args[0] == "openai" else type(sy.get("seed")) is int
            if not isinstance(sy, dict) or sy.get("generator") != args[0] or sy.get("model") != model \
                    or not seed_ok:
                problems.append("%s: synthetic = %r" % (where, sy))
        elif rule == "seed":
            sy = meta.get("synthetic") or {}
            if sy.get("seed") != int(args[0]):
                problems.append("%s: seed %r" % (where, sy.get("seed")))
        elif rule == "aspect":
            # --size original, --max-side 512: longer side 512, multiples
            # of 64, the original's aspect within the rounding to 64
            ow, oh = jpeg_size(mem["jpg"])
            s = imgsize(jp)
            if not s:
                problems.append("%s: not an image" % where)
                continue
            w, h = s[:2]
            exact = {(320, 240): (512, 384), (240, 320): (384, 512), (288, 288): (512, 512),
                     (384, 256): (512, 320), (128, 128): (512, 512)}
            if max(w, h) != 512 or w % 64 or h % 64 or abs(w * oh - h * ow) > 32 * max(ow, oh) \
                    or ((ow, oh) in exact and exact[(ow, oh)] != (w, h)):
                problems.append("%s: %dx%d image for a %dx%d original" % (where, w, h, ow, oh))
        elif rule == "fixed":
            s = imgsize(jp)
            if not s or s[:2] != (int(args[0]), int(args[1])):
                problems.append("%s: %s, expected %sx%s" % (where, s, args[0], args[1]))
        elif rule == "original":
            s = imgsize(jp)
            if not s or s[:2] != jpeg_size(mem["jpg"]):
                problems.append("%s: %s, original %s" % (where, s, jpeg_size(mem["jpg"])))
        else:
            sys.exit("unknown rule " + rule)
print("; ".join(problems[:4]) + (" (%d problems)" % len(problems) if problems else ""))
sys.exit(1 if problems else 0)
PY
# gcheck DESC RULE EDITS [ARGS]: one ok/fail line for a checker rule, with
# the prompts of $PR.
gcheck() {
	local d=$1 rule=$2 e=$3 msg
	shift 3
	if msg=$(SHARDS=$SHARDS python3 gencheck.py "$rule" "$e" "${PR:-pr}" "$@" 2>&1); then ok "$d"; else
		fail "$d: $msg"
	fi
}
# synthetic_ok LABEL EDITS GENERATOR MODEL: the rules of every synthetic sample.
synthetic_ok() {
	local l=$1 e=$2
	gcheck "$l: KEY.jpg, KEY.txt, KEY.json for every face prompt" files "$e"
	gcheck "$l: KEY.txt is the prompt" txt "$e"
	gcheck "$l: caption = prompt, face_bboxes = []" caption "$e"
	gcheck "$l: url, exif, original_width/height removed" erased "$e"
	gcheck "$l: other fields kept (uid, key, status...)" kept "$e"
	gcheck "$l: sha256 of the new image" sha "$e"
	gcheck "$l: width/height are the image's, a JPEG" imgsize "$e"
	gcheck "$l: synthetic.generator $3, model $4, the seed used" synthetic "$e" "$3" "$4"
	gcheck "$l: .generate.json lists every face sample" fates "$e" blurred
	gcheck "$l: no stray or temporary file" nostray "$e"
}

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null
n_prompts=$(python3 -c 'import json,glob; print(sum(1 for f in glob.glob("pr/*.json") for v in json.load(open(f)).values() if v.strip()))')
check "fixture: face samples with prompts ($n_prompts)" test "$n_prompts" -ge 20

# --- 1. happy path, AUTOMATIC1111, two endpoints ------------------------------
start_fake PA --slots 2 --latency-ms 20
start_fake PB --slots 2 --latency-ms 20
run_hy generate -p pr -s "$SHARDS" -o ea --image-endpoint "http://127.0.0.1:$PA" --image-endpoint "http://127.0.0.1:$PB"
expect_rc 0 "a1111 over two endpoints"
# the model the server reports in its info (sd_model_name), not asked for
synthetic_ok a1111 ea a1111 fake:latest
check "summary: $n_prompts synthetic images" test "$(summary_value "synthetic images")" = "$n_prompts"
na=$(stat_of "$PA" image_requests)
nb=$(stat_of "$PB" image_requests)
check "both endpoints got requests ($na + $nb)" test "$na" -gt 0 -a "$nb" -gt 0
# Copies (no idle tail: a request that would wait on one endpoint is also
# sent to an idle one) happen when answers come slowly, as on a loaded
# machine: they are counted in the summary.
ncopies=$(awk '/^ *copies / {print $2; exit}' out.txt)
check "one request per image, plus the copies ($na + $nb = $n_prompts + ${ncopies:-?})" \
	test $((na + nb)) = $((n_prompts + ${ncopies:-999}))
check "the summary lists both endpoints" bash -c "grep -q ':$PA ' out.txt && grep -q ':$PB ' out.txt"
check "no .NAME.part left" test -z "$(find ea -name '.*part*')"
check "every shard has its folder" test -d ea/00000000 -a -d ea/00000001 -a -d ea/00000002
gcheck "--size original: the original's aspect, longer side 512 (320x240 -> 512x384)" aspect ea
run_hy generate -p pr -s "$SHARDS" -o ea -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 0 "re-run with every shard done"
check "re-run: nothing asked again" test "$(stat_of "$PA" image_requests)" = "$na"
check "re-run: shards already done" test "$(summary_value "already done")" = 3

run_hy generate -p pr -s "$SHARDS" -o e256 --size 256x256 -q --image-endpoint "http://127.0.0.1:$PA" --image-endpoint "http://127.0.0.1:$PB"
expect_rc 0 "--size 256x256"
gcheck "--size 256x256 gives 256x256 images" fixed e256 256 256
gcheck "--size 256x256: width/height recorded" imgsize e256
run_hy generate -p pr -s "$SHARDS" -o ers --resize -q --image-endpoint "http://127.0.0.1:$PA" --image-endpoint "http://127.0.0.1:$PB"
expect_rc 0 "--resize"
gcheck "--resize gives the original's size" original ers
gcheck "--resize: width/height and sha256 of the resized image" imgsize ers
gcheck "--resize: sha256" sha ers

# --- 2. OpenAI images API with a bearer token ----------------------------------
start_fake PO --model m1 --api-key K1 --slots 2
HY_IMG_KEY=K1 run_hy generate -p pr -s "$SHARDS" -o eo --image-api openai --image-model m1 \
	--api-key-env HY_IMG_KEY --image-endpoint "http://127.0.0.1:$PO" -q
expect_rc 0 "openai /v1/images/generations with a bearer token"
synthetic_ok openai eo openai m1
check "openai: requests went to /v1/images/generations" test "$(stat_of "$PO" image_requests)" = "$n_prompts"
HY_IMG_KEY=wrong run_hy generate -p pr -s "$SHARDS" -o eo2 --image-api openai --image-model m1 \
	--api-key-env HY_IMG_KEY --image-endpoint "http://127.0.0.1:$PO" --retries 1 -q
expect_rc 1 "a wrong key: refused for good, a configuration error"
expect_err "HTTP 401" "the 401 is named"
check "a wrong key: no edits" bash -c '! ls eo2 2>/dev/null | grep -q .'
run_hy generate -p pr -s "$SHARDS" -o eo3 --image-api openai --image-model m1 \
	--api-key-env HY_NO_SUCH_VAR_SET --image-endpoint "http://127.0.0.1:$PO" -q
expect_rc 1 "--api-key-env naming an unset variable"
HY_IMG_KEY=K1 run_hy generate -p pr -s "$SHARDS" -o eo4 --image-api openai --image-model nosuch \
	--api-key-env HY_IMG_KEY --image-endpoint "http://127.0.0.1:$PO" --retries 1 -q
# The fake answers 404 "model does not exist", as the OpenAI API does; every
# request is refused that way, so the run stops as misconfigured.
expect_rc 1 "an unknown --image-model (server answers 404): configuration error"
expect_err "HTTP 404" "the 404 is named"
check "unknown model: no edits" bash -c '! ls eo4 2>/dev/null | grep -q .'

# --- 3. determinism, seeds, image formats --------------------------------------
run_hy generate -p pr -s "$SHARDS" -o ea2 -q --image-endpoint "http://127.0.0.1:$PB"
expect_rc 0 "second run into another folder"
check "two runs give byte-identical trees" diff -r ea ea2
run_hy generate -p pr -s "$SHARDS" -o es7 --seed 7 -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 0 "--seed 7"
gcheck "--seed 7 recorded" seed es7 7
check "--seed 7 gives other images than the per-key default" python3 -c '
import glob, json, sys
jpg = [f[:-4] + "jpg" for f in glob.glob("es7/*/*.json") if "synthetic" in json.load(open(f))]
same = [f for f in jpg if open(f, "rb").read() == open("ea/" + f[4:], "rb").read()]
sys.exit(1 if same or not jpg else 0)'
check "the default seed is not one constant" python3 -c '
import glob, json, sys
seeds = {json.load(open(f)).get("synthetic", {}).get("seed") for f in glob.glob("ea/*/*.json")} - {None}
sys.exit(0 if len(seeds) > 10 else 1)'
start_fake PW --image-format webp
run_hy generate -p pr -s "$SHARDS" -o ew -q --image-endpoint "http://127.0.0.1:$PW"
expect_rc 0 "server sends WebP"
gcheck "WebP from the server: JPEG members, sizes recorded" imgsize ew
gcheck "WebP from the server: sha256" sha ew
start_fake PJ --image-format jpeg
run_hy generate -p pr -s "$SHARDS" -o ej -q --image-endpoint "http://127.0.0.1:$PJ"
expect_rc 0 "server sends JPEG"
gcheck "JPEG from the server: JPEG members, sizes recorded" imgsize ej
gcheck "JPEG from the server: sha256" sha ej
# PNG is the fake's default: ea above.
check "PNG and WebP answers give JPEGs of the same sizes" python3 -c '
import glob, json, sys
for f in glob.glob("ea/*/*.json"):
    a, b = json.load(open(f)), json.load(open("ew/" + f[3:]))
    if (a["width"], a["height"]) != (b["width"], b["height"]): sys.exit(1)'

# --- 9. bad usage and configuration --------------------------------------------
n_before=$(stat_of "$PA" image_requests)
run_hy generate -s "$SHARDS" -o u1 --image-endpoint "http://127.0.0.1:$PA"
expect_rc 1 "a1111 without -p"
expect_err "-p PROMPTS_DIR" "the missing -p is named"
run_hy generate -p pr -s "$SHARDS" -o u2 --leftover bogus --image-endpoint "http://127.0.0.1:$PA"
expect_rc 1 "--leftover bogus"
expect_err "leftover" "the bad --leftover is named"
run_hy generate -p pr -s "$SHARDS" -o u3 --size 100x7 --image-endpoint "http://127.0.0.1:$PA"
expect_rc 1 "--size 100x7"
expect_err "size" "the bad --size is named"
run_hy generate -p pr -s "$SHARDS" -o u4 --image-api dalle --image-endpoint "http://127.0.0.1:$PA"
expect_rc 1 "--image-api dalle"
check "usage errors ask nothing, write nothing" test "$(stat_of "$PA" image_requests)" = "$n_before" -a -z "$(ls -A u1 u2 u3 u4 2>/dev/null)"
mkdir -p pmiss
cp pr/00000000.json pr/00000002.json pmiss/
run_hy generate -p pmiss -s "$SHARDS" -o u5 -q --image-endpoint "http://127.0.0.1:$PA"
expect_rc 2 "a prompts file missing for one shard"
expect_err "pmiss/00000001\.json" "the missing prompts file is named"
check "the other shards finished" test -d u5/00000000 -a -d u5/00000002 -a ! -e u5/00000001
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_hy generate -p pr -s "$SHARDS/00000000.tar" -o u6 --retries 1 --image-timeout 2 --server-patience 1 -q --image-endpoint "http://127.0.0.1:$closed"
expect_rc 2 "an endpoint nobody listens on, past --server-patience"
expect_err "127\.0\.0\.1:$closed" "the dead endpoint is named"
expect_err "00000000\.tar: sample '000000000001'" "failing samples are named with shard and key"
check "dead endpoint: no edits" test ! -e u6/00000000

# --- 10. servers started by us (--spawn) ---------------------------------------
ln -s "$FAKE" "$T/fake_llm"
run_hy generate -p pr -s "$SHARDS" -o esp -q --spawn "$T/fake_llm --port {port} --max-seconds 60" --gpus 2
expect_rc 0 "--spawn two servers"
check "--spawn: same images as a server started by hand" diff -r -x '.server-*' ea esp
# logs: EDITS_DIR/.server-N.log, or .server-HOST-N.log
for i in 0 1; do
	check "--spawn: server $i got image requests" python3 -c '
import glob, json, sys
logs = glob.glob("esp/.server-%s.log" % sys.argv[1]) + glob.glob("esp/.server-*-%s.log" % sys.argv[1])
st = json.loads(open(logs[0]).read().splitlines()[-1]) if len(logs) == 1 else {}
sys.exit(0 if st.get("image_requests", 0) > 0 else 1)' "$i"
done
gone=1
for _ in $(seq 40); do pgrep -f -- "^$T/fake_llm" >/dev/null || { gone=0; break; }; sleep 0.05; done
check "--spawn: no server left afterwards" test $gone = 0
run_hy generate -p pr -s "$SHARDS" -o esp2 -q --spawn "$T/fake_llm --port {port}" --image-endpoint "http://127.0.0.1:$PA"
expect_rc 1 "--spawn with --image-endpoint"

stop_fakes
finish
