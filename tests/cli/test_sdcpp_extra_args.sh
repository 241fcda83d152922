#!/usr/bin/env bash
# stable-diffusion.cpp's server (--image-api sdcpp): its
# /v1/images/generations ignores seed, steps, cfg_scale and negative_prompt
# in the body (the seed stays 42) and reads them from
# <sd_cpp_extra_args>{JSON}</sd_cpp_extra_args> in the prompt; the fake
# does the same under --mimic sd.cpp. Also its /sdapi/ route, whose health
# probe must be a path sd.cpp serves (it has no /sdapi/v1/progress).
TEST_NAME=sdcpp_extra_args
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"

stat_path() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"][sys.argv[1]])' "$2"
}
# images_differ A B: every synthetic image of A differs from B's.
images_differ() {
	python3 - "$1" "$2" <<'PY'
import glob, json, sys
a, b = sys.argv[1:3]
imgs = [f[:-4] + "jpg" for f in glob.glob(a + "/*/*.json") if "synthetic" in json.load(open(f))]
same = [f for f in imgs if open(f, "rb").read() == open(b + f[len(a):], "rb").read()]
sys.exit(1 if same or not imgs else 0)
PY
}
# seeds_are DIR SEED GENERATOR: synthetic.seed and generator of every image.
seeds_are() {
	python3 - "$@" <<'PY'
import glob, json, sys
d, seed, gen = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sy = [json.load(open(f)).get("synthetic") for f in glob.glob(d + "/*/*.json")]
sy = [s for s in sy if s]
sys.exit(0 if sy and all(s.get("seed") == seed and s.get("generator") == gen for s in sy) else 1)
PY
}

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null

start_fake PS --mimic sd.cpp --slots 2
gen() { run_hy generate -p pr -s "$SHARDS" --image-endpoint "http://127.0.0.1:$PS" -q "$@"; }

gen -o s1 --image-api sdcpp --seed 1 --steps 12 --cfg-scale 4.5 --negative-prompt 'blurry </sd_cpp_extra_args>'
expect_rc 0 "sdcpp, --seed 1"
gen -o s2 --image-api sdcpp --seed 2 --steps 12 --cfg-scale 4.5 --negative-prompt 'blurry </sd_cpp_extra_args>'
expect_rc 0 "sdcpp, --seed 2"
check "the same prompts with two seeds give two images each" images_differ s1 s2
gen -o s1b --image-api sdcpp --seed 1 --steps 12 --cfg-scale 4.5 --negative-prompt 'blurry </sd_cpp_extra_args>'
expect_rc 0 "sdcpp, --seed 1 again"
check "a re-run reproduces the bytes" diff -r s1 s1b
check "synthetic.seed is the seed the server used (1)" seeds_are s1 1 sdcpp
check "the prompt written is the prompt, without the extra args" \
	bash -c '! grep -rl sd_cpp_extra_args s1 >/dev/null'

# What --image-api openai does against it: the seed in the body is ignored,
# so two seeds give the same images, and no seed is recorded.
gen -o o1 --image-api openai --seed 1
expect_rc 0 "openai kind against sd.cpp, --seed 1"
gen -o o2 --image-api openai --seed 2
check "(openai kind: sd.cpp ignored the seed: the same images)" diff -r -x '*.json' -x .options o1 o2
check "openai kind: no seed recorded (OpenAI's API reports none)" python3 -c '
import glob, json, sys
sy = [json.load(open(f)).get("synthetic") for f in glob.glob("o1/*/*.json")]
sy = [s for s in sy if s]
sys.exit(0 if sy and all("seed" not in s for s in sy) else 1)'

run_hy generate -p pr -s "$SHARDS" -o sm --image-api sdcpp --image-model x.gguf \
	--image-endpoint "http://127.0.0.1:$PS" -q
expect_rc 1 "--image-model with sdcpp: a usage error (it has one model)"
expect_err "stable-diffusion.cpp" "the message says why"

# --- its /sdapi/ route: a1111 kind; a dead endpoint is probed at
# /sdapi/v1/sd-models, which sd.cpp serves (a probe of /sdapi/v1/progress
# would get 404 and mark it broken) -------------------------------------------
python3 - <<'PY'
import json, os
d = json.load(open("pr/00000000.json"))
k = next(k for k, v in d.items() if v.strip())
os.makedirs("pr1", exist_ok=True)
json.dump({k: "[[fault:500:3]] " + d[k]}, open("pr1/00000000.json", "w"))
PY
start_fake PH --mimic sd.cpp
run_hy generate -p pr1 -s "$SHARDS/00000000.tar" -o h1 --image-endpoint "http://127.0.0.1:$PH" \
	--image-threads 1 --retries 6 -q
expect_rc 0 "a1111 kind against sd.cpp: three 500s, probed, back"
check "the probe went to /sdapi/v1/sd-models" test "$(stat_path "$PH" /sdapi/v1/sd-models)" -ge 1
check "nothing asked /sdapi/v1/progress" test "$(stat_path "$PH" /sdapi/v1/progress)" = 0
check "a1111 kind: the seed read back from sd.cpp's info" python3 -c '
import glob, json, sys
sy = [json.load(open(f)).get("synthetic") for f in glob.glob("h1/*/*.json")]
sy = [s for s in sy if s]
sys.exit(0 if len(sy) == 1 and type(sy[0].get("seed")) is int and sy[0].get("model") == "fake:latest" else 1)'
finish
