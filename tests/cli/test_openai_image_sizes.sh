#!/usr/bin/env bash
# OpenAI's images API makes a few sizes per model (dall-e-2: 256, 512 or
# 1024 squares; dall-e-3: 1024x1024, 1792x1024, 1024x1792; gpt-image-1:
# 1024x1024, 1536x1024, 1024x1536) and answers 400 to any other, and to
# fields it does not know (seed; response_format for gpt-image-*): the fake
# does the same under --mimic openai. --size original takes the nearest
# accepted size; --resize still brings the image to the original's size; a
# --size the model does not make is refused before anything starts.
TEST_NAME=openai_image_sizes
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"

# sizes_are DIR L,P,S|orig MODEL: every synthetic image is L for a landscape
# original, P for a portrait one, S for a square one (orig: the size of the
# image it replaced), in the file and in KEY.json; its synthetic has the
# model and no seed.
cat >sizes.py <<'PY'
import glob, io, json, os, subprocess, sys, tarfile
d, want, model = sys.argv[1:4]
orig = {}
for p in glob.glob(os.path.join(os.environ["SHARDS"], "*.tar")):
    with tarfile.open(p) as t:
        for m in t.getmembers():
            if m.name.endswith(".jpg"):
                open("o.jpg", "wb").write(t.extractfile(m).read())
                w, h, _ = subprocess.run([os.environ["IMGTOOL"], "size", "o.jpg"],
                                         capture_output=True, text=True).stdout.split()
                orig[os.path.basename(p)[:-4] + "/" + m.name[:-4]] = "%sx%s" % (w, h)
n = 0
for f in glob.glob(d + "/*/*.json"):
    meta = json.load(open(f))
    sy = meta.get("synthetic")
    if not sy:
        continue
    n += 1
    key = f[len(d) + 1:-5]
    w, h, _ = subprocess.run([os.environ["IMGTOOL"], "size", f[:-4] + "jpg"],
                             capture_output=True, text=True).stdout.split()
    got = "%sx%s" % (w, h)
    ow, oh = map(int, orig[key].split("x"))
    exp = orig[key] if want == "orig" else want.split(",")[0 if ow > oh else 1 if ow < oh else 2]
    if got != exp or "%sx%s" % (meta["width"], meta["height"]) != got:
        sys.exit("%s: %s (KEY.json %sx%s), want %s" % (key, got, meta["width"], meta["height"], exp))
    if sy.get("model") != model or "seed" in sy:
        sys.exit("%s: synthetic %r" % (key, sy))
sys.exit(0 if n >= 20 else "only %d images" % n)
PY
sizes_are() {
	local out
	out=$(python3 sizes.py "$@" 2>&1) || { echo "$out" >&2; return 1; }
}

export SHARDS
"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null

start_fake PO --mimic openai --slots 4
gen() { run_hy generate -p pr -s "$SHARDS" --image-api openai --image-endpoint "http://127.0.0.1:$PO" -q "$@"; }

# The nearest shape: landscape, portrait, square.
gen -o d3 --image-model dall-e-3
expect_rc 0 "dall-e-3, --size original"
check "dall-e-3: 1792x1024, 1024x1792 or 1024x1024 (no seed recorded)" \
	sizes_are d3 1792x1024,1024x1792,1024x1024 dall-e-3
gen -o g1 --image-model gpt-image-1
expect_rc 0 "gpt-image-1, --size original (no response_format sent)"
check "gpt-image-1: 1536x1024, 1024x1536 or 1024x1024" \
	sizes_are g1 1536x1024,1024x1536,1024x1024 gpt-image-1
gen -o d2 --image-model dall-e-2
expect_rc 0 "dall-e-2, --size original, --max-side 512"
check "dall-e-2: the square nearest --max-side: 512x512" \
	sizes_are d2 512x512,512x512,512x512 dall-e-2
gen -o d2r --image-model dall-e-2 --resize
expect_rc 0 "dall-e-2 with --resize"
check "--resize: the images end up at the original's size" sizes_are d2r orig dall-e-2

gen -o bad --image-model dall-e-3 --size 640x480
expect_rc 1 "--size 640x480 with dall-e-3: refused at start-up"
expect_err "1024x1024, 1792x1024, 1024x1792" "the accepted sizes are listed"
gen -o bad2 --image-model dall-e-3 --steps 20
expect_rc 1 "--steps with one of OpenAI's models: refused at start-up"
check "nothing was asked of the server by the refused runs" test ! -e bad -a ! -e bad2
run_hy generate -p pr -s "$SHARDS" -o bad3 --image-api openai -q \
	--image-endpoint "https://user:pw@api.openai.com"
expect_rc 1 "api.openai.com without --image-model: the sizes cannot be chosen"
expect_err "--image-model" "it says to name the model"
check "the endpoint's password is not printed" bash -c '! grep -q ":pw@" err.txt'

# The fake refuses what OpenAI refuses: a size a model does not make.
check "(fake: 640x480 for dall-e-3 is a 400)" bash -c "curl -s -o /dev/null -w '%{http_code}' \
	-H 'Content-Type: application/json' -d '{\"prompt\":\"p\",\"model\":\"dall-e-3\",\"size\":\"640x480\"}' \
	http://127.0.0.1:$PO/v1/images/generations | grep -qx 400"
finish
