#!/usr/bin/env bash
# Smoke test of the text-to-image side of the fake server
# (tests/servers/fake_llm.c): takes build/fake_llm from `make tools` (or
# $FAKE_LLM, a sanitizer build), then checks the AUTOMATIC1111 and
# OpenAI image routes, the pictures (decoded, sized, deterministic),
# request validation, --image-format, every image fault kind and the old
# ones on image routes, --mimic sd.cpp / openai, --api-auth, slots +
# latency and the /stats counters.
TEST_NAME=fake_image
. "$(dirname "$0")/../cli/lib.sh"
. "$ROOT/tests/servers/fake_lib.sh"

J=(-H 'Content-Type: application/json')
# a1111 JSON [CURL ARGS...] / oai JSON [CURL ARGS...]: an image request.
a1111() { req /sdapi/v1/txt2img "${J[@]}" -d "$@"; }
oai() { req /v1/images/generations "${J[@]}" -d "$@"; }
# b64 EXPR: the base64 string at EXPR of body.txt -> b64.txt; decoded
# with base64 -d -> img.bin; $dec = base64's exit status.
b64() {
	jv body.txt "$1" | tr -d '\n' >b64.txt
	base64 -d <b64.txt >img.bin 2>/dev/null
	dec=$?
}
# The format, size and integrity of img.bin: "PNG 256x128 ok", "PNG
# 256x128 ok black" (every pixel 0), "PNG 256x128 damaged", "JPEG
# 256x128", "WEBP 256x128" or "DATA".
cat >imginfo.py <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
if d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR":
    w, h = struct.unpack(">II", d[16:24])
    pos, idat, end = 8, b"", False
    try:
        while pos + 8 <= len(d):
            n, t = struct.unpack(">I4s", d[pos:pos + 8])
            if pos + 12 + n > len(d):
                break
            if zlib.crc32(d[pos + 4:pos + 8 + n]) != struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])[0]:
                break
            if t == b"IDAT":
                idat += d[pos + 8:pos + 8 + n]
            end = t == b"IEND"
            pos += 12 + n
        raw = zlib.decompress(idat)
        good = end and len(raw) == h * (1 + 3 * w)
    except zlib.error:
        good = False
    black = good and not any(raw[y * (1 + 3 * w) + 1:(y + 1) * (1 + 3 * w)].strip(b"\0") for y in range(h))
    print("PNG %dx%d %s%s" % (w, h, "ok" if good else "damaged", " black" if black else ""))
elif d[:3] == b"\xff\xd8\xff":
    pos = 2
    while pos + 9 < len(d):
        m, n = d[pos + 1], struct.unpack(">H", d[pos + 2:pos + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", d[pos + 5:pos + 9])
            print("JPEG %dx%d" % (w, h))
            break
        pos += 2 + n
elif d[:4] == b"RIFF" and d[8:16] == b"WEBPVP8 ":
    w, h = struct.unpack("<HH", d[26:30])
    print("WEBP %dx%d" % (w & 0x3FFF, h & 0x3FFF))
else:
    print("DATA")
PY
imginfo() { python3 imginfo.py img.bin; }
expect_code() { # expect_code N DESCRIPTION
	if [ "$code" = "$1" ]; then ok "$2 ($code)"; else
		fail "$2: expected HTTP $1, got $code (curl $cerr): $(head -c 300 body.txt)"
	fi
}
expect_text() { # expect_text EXPR WANT DESCRIPTION: JSON value in body.txt
	local got
	got=$(jv body.txt "$1")
	if [ "$got" = "$2" ]; then ok "$3"; else
		fail "$3: got '$got', want '$2'; body: $(head -c 300 body.txt)"
	fi
}
expect_img() { # expect_img WANT DESCRIPTION: imginfo of img.bin
	local got
	got=$(imginfo)
	if [ "$dec" = 0 ] && [ "$got" = "$1" ]; then ok "$2"; else
		fail "$2: got '$got' (base64 -d exit $dec), want '$1'"
	fi
}

# --- routes, happy paths -------------------------------------------------
start_fake --model sd-v1-5 --model sdxl
for p in /internal/ping /sdapi/v1/progress /sdapi/v1/sd-models; do
	req $p
	if [ "$code" = 200 ] && jv body.txt d >/dev/null; then ok "GET $p: 200 JSON"; else
		fail "GET $p: $code $(head -c 200 body.txt)"
	fi
done
expect_text '",".join(m["title"]+"/"+m["model_name"] for m in d)' \
	"sd-v1-5/sd-v1-5,sdxl/sdxl" "sd-models lists the --model names"

A='{"prompt":"Barack Obama at the Louvre","negative_prompt":"blurry","seed":7,"steps":20,"cfg_scale":7.5,"width":256,"height":128,"sampler_name":"Euler a","scheduler":"Karras","batch_size":1,"n_iter":1,"override_settings":{"sd_model_checkpoint":"sdxl"},"send_images":true,"save_images":false}'
a1111 "$A"
expect_code 200 "a1111 txt2img"
b64 'd["images"][0]'
expect_img "PNG 256x128 ok" "a1111: images[0] is base64 of a whole 256x128 PNG"
cp b64.txt a1.b64
check "a1111: file(1) agrees" grep -q 'PNG image data, 256 x 128' <(file img.bin)
expect_text 'json.loads(d["info"])["seed"], json.loads(d["info"])["width"], json.loads(d["info"])["height"], json.loads(d["info"])["sd_model_name"], json.loads(d["info"])["prompt"]' \
	"7 256 128 sdxl Barack Obama at the Louvre" "a1111: info is a JSON text with seed, size, model, prompt"
expect_text 'd["parameters"]["negative_prompt"], d["parameters"]["cfg_scale"], d["parameters"]["scheduler"]' \
	"blurry 7.5 Karras" "a1111: parameters echo the request"

O='{"prompt":"Barack Obama at the Louvre","model":"sdxl","n":1,"size":"256x128","response_format":"b64_json","quality":"hd","style":"vivid","user":"u1","seed":7,"negative_prompt":"blurry","steps":20,"cfg_scale":7.5}'
oai "$O"
expect_code 200 "openai images/generations"
b64 'd["data"][0]["b64_json"]'
expect_img "PNG 256x128 ok" "openai: data[0].b64_json is a whole 256x128 PNG"
expect_text 'type(d["created"]).__name__, d["data"][0]["revised_prompt"]' \
	"int Barack Obama at the Louvre" "openai: created, revised_prompt"
check "the same prompt, seed and size give the same picture on both APIs" cmp -s b64.txt a1.b64
oai '{"prompt":"a red bus","size":"1024x64"}'
b64 'd["data"][0]["b64_json"]'
expect_img "PNG 1024x64 ok" "openai: no response_format means b64_json; size WxH"

# --- determinism ------------------------------------------------------------
same() { # same JSON1 JSON2: the two a1111 requests give the same image
	a1111 "$1"
	jv body.txt 'd["images"][0]' >s1.txt
	a1111 "$2"
	jv body.txt 'd["images"][0]' >s2.txt
	[ -s s1.txt ] && cmp -s s1.txt s2.txt
}
differ() { # differ JSON1 JSON2: two images, not the same bytes
	! same "$@" && [ -s s1.txt ] && [ -s s2.txt ]
}
D='{"prompt":"a cat on a mat","seed":3,"width":128,"height":128}'
check "same request twice: the same bytes" same "$D" "$D"
check "another seed: other bytes" \
	differ "$D" '{"prompt":"a cat on a mat","seed":4,"width":128,"height":128}'
check "another prompt: other bytes" \
	differ "$D" '{"prompt":"a dog on a mat","seed":3,"width":128,"height":128}'
check "fault markers are not part of the picture" \
	same "$D" '{"prompt":"a cat on a mat[[fault:none]]","seed":3,"width":128,"height":128}'
a1111 '{"prompt":"random","seed":-1,"width":64,"height":64}'
s1=$(jv body.txt 'json.loads(d["info"])["seed"]')
a1111 '{"prompt":"random","width":64,"height":64}'
s2=$(jv body.txt 'json.loads(d["info"])["seed"]')
check "seed -1 or none: the server draws one ($s1, $s2)" \
	test -n "$s1" -a -n "$s2" -a "$s1" != "$s2" -a "$s1" != -1

# --- validation -------------------------------------------------------------
bad() { # bad a1111|oai BODY DESCRIPTION [WANT IN MESSAGE]
	local api=$1 b=$2 d=$3 want=${4:-}
	$api "$b"
	local msg
	msg=$(jv body.txt 'd["error"]["message"] if isinstance(d["error"], dict) else d["error"]')
	if [ "$code" = 400 ] && [ -n "$msg" ] && [[ "$msg" == *"$want"* ]]; then
		ok "400: $d"
	else
		fail "$d: expected 400 with an error${want:+ saying '$want'}, got $code: $(head -c 200 body.txt)"
	fi
}
bad a1111 '{"negative_prompt":"x"}' "a1111 without prompt" "prompt"
bad a1111 '{"prompt":"x","width":100}' "a1111 width not a multiple of 8" "multiple of 8"
bad a1111 '{"prompt":"x","height":4096}' "a1111 height over 2048"
bad a1111 '{"prompt":"x","steps":0}' "a1111 steps 0"
bad a1111 '{"prompt":"x","cfg_scale":31}' "a1111 cfg_scale 31"
bad a1111 '{"prompt":"x","seed":1.5}' "a1111 seed not an integer"
bad a1111 '{"prompt":"x","batch_size":2}' "a1111 batch_size 2" "batch_size must be 1"
bad a1111 '{"prompt":"x","n_iter":4}' "a1111 n_iter 4"
bad a1111 '{"prompt":"x","num_steps":5}' "a1111 unknown field" "num_steps"
bad a1111 '{"prompt":"x","send_images":"yes"}' "a1111 send_images not a boolean"
bad a1111 '{"prompt":"x"' "a1111 malformed JSON"
check "a1111 errors carry detail (FastAPI)" test -n "$(jv body.txt 'd["detail"]')"
bad oai '{"size":"64x64"}' "openai without prompt"
bad oai '{"prompt":"x","n":2}' "openai n=2" "n must be 1"
bad oai '{"prompt":"x","response_format":"url"}' "openai response_format url" "b64_json"
bad oai '{"prompt":"x","size":"100x64"}' "openai size not a multiple of 8"
bad oai '{"prompt":"x","size":"big"}' "openai size not WxH"
bad oai '{"prompt":"x","seed":-2}' "openai seed -2"
bad oai '{"prompt":"x","guidance":3}' "openai unknown field" "guidance"
check "openai errors are {error:{message,type,param}}" \
	test "$(jv body.txt 'd["error"]["type"]+"/"+d["error"]["param"]')" = invalid_request_error/guidance
req /sdapi/v1/txt2img -d '{"prompt":"x"}'
expect_code 400 "a1111 with a form Content-Type (curl -d)"
req /sdapi/v1/txt2img -H 'Content-Type:' -d '{"prompt":"x","width":64,"height":64}'
expect_code 200 "a1111 without Content-Type (FastAPI parses JSON)"
req /v1/images/generations -d '{"prompt":"x"}'
expect_code 400 "openai without Content-Type json"
a1111 '{"prompt":"x","override_settings":{"sd_model_checkpoint":"sd-v2"}}'
expect_code 404 "a1111 sd_model_checkpoint not among --model"
oai '{"prompt":"x","model":"dall-e-3"}'
expect_code 404 "openai model not among --model"
a1111 '{"prompt":"x","width":64,"height":64,"send_images":false}'
expect_text 'd["images"]' "[]" "a1111 send_images false: no image"
req /sdapi/v1/txt2img
expect_code 405 "GET on txt2img"
stop_fake

# --- --lenient, --api-key, --image-format -----------------------------------
start_fake --lenient --api-key s3cret --image-format jpeg
K=(-H 'Authorization: Bearer s3cret')
a1111 '{"prompt":"x","width":64,"height":64}'
expect_code 401 "--api-key: txt2img without the key"
oai '{"prompt":"x","size":"64x64"}'
expect_text 'd["error"]["type"]' authentication_error "--api-key: openai images without the key (401)"
req /internal/ping
expect_code 200 "--api-key: /internal/ping needs no key"
req /sdapi/v1/progress
expect_code 200 "--api-key: /sdapi/v1/progress needs no key"
a1111 '{"prompt":"x","width":256,"height":128,"extra":1}' "${K[@]}"
expect_code 200 "--lenient: unknown field accepted; right key"
b64 'd["images"][0]'
expect_img "JPEG 256x128" "--image-format jpeg: JPEG bytes in the base64"
stop_fake
start_fake --image-format webp
oai '{"prompt":"x","size":"256x128"}'
b64 'd["data"][0]["b64_json"]'
expect_img "WEBP 256x128" "--image-format webp: WebP bytes in the base64"
stop_fake

# --- faults on image routes -------------------------------------------------
start_fake --slow-interval-ms 2
F='{"prompt":"Barack Obama","seed":5,"width":128,"height":64}'
a1111 "$F"
b64 'd["images"][0]'
cp img.bin full.bin
fault() { a1111 "$F" -H "X-Fault: $1" "${@:2}"; }
fault b64-cut
b64 'd["images"][0]'
len=$(wc -c <b64.txt)
if [ "$code" = 200 ] && [ $((len % 4)) -ne 0 ] && [ "$dec" -ne 0 ]; then
	ok "b64-cut: 200 JSON, base64 of length $len (not a multiple of 4), base64 -d fails"
else
	fail "b64-cut: $code, length $len, base64 -d exit $dec"
fi
fault image-cut
b64 'd["images"][0]'
expect_img "PNG 128x64 damaged" "image-cut: valid base64 of a damaged PNG"
check "image-cut: the first half of the whole PNG" \
	test "$(wc -c <img.bin)" = $(($(wc -c <full.bin) / 2)) -a "$(head -c 100 img.bin | od -An -tx1)" = "$(head -c 100 full.bin | od -An -tx1)"
fault not-image
b64 'd["images"][0]'
expect_img "DATA" "not-image: valid base64 of bytes that are no image"
check "not-image: says so" grep -q "not an image" img.bin
fault wrong-size
b64 'd["images"][0]'
expect_img "PNG 64x32 ok" "wrong-size: a whole PNG of half the width and height"
fault refuse
b64 'd["images"][0]'
expect_img "PNG 128x64 ok black" "refuse: an all-black image of the asked size (a safety checker's answer)"
fault empty
expect_text 'd["images"]' "[]" "empty: 200 with no image"
oai '{"prompt":"x","size":"64x64"}' -H "X-Fault: empty"
expect_text 'd["data"]' "[]" "empty on openai: data []"
fault 429
expect_code 429 "X-Fault 429 on txt2img"
check "429 carries Retry-After: 1" grep -qi '^Retry-After: 1' head.txt
fault 500
expect_code 500 "X-Fault 500 on txt2img"
oai '{"prompt":"x","size":"64x64"}' -H "X-Fault: 503"
expect_text 'd["error"]["type"], d["error"]["code"]' "server_error 503" "X-Fault 503 on openai images: OpenAI error object"
fault garbage
if [ "$code" = 200 ] && ! jv body.txt d >/dev/null; then ok "X-Fault garbage on txt2img: 200, not JSON"; else
	fail "garbage: $code $(head -c 100 body.txt)"; fi
fault half
check "X-Fault half on txt2img: partial body (curl exit 18)" test "$cerr" = 18
fault reset
check "X-Fault reset on txt2img: reset (curl exit 56)" test "$cerr" = 56
fault hang --max-time 0.3
check "X-Fault hang on txt2img: no answer (curl exit 28)" test "$cerr" = 28
fault slow-body --max-time 0.3
check "X-Fault slow-body on txt2img: times out with a partial body" \
	test "$cerr" = 28 -a -s body.txt
# Markers in the prompt; the retry gets the very image of the plain prompt.
M='{"prompt":"Barack Obama[[fault:image-cut:1]]","seed":5,"width":128,"height":64}'
a1111 "$M"
b64 'd["images"][0]'
r1=$(imginfo)
a1111 "$M"
b64 'd["images"][0]'
check "[[fault:image-cut:1]] in the prompt: cut once ($r1), then the whole image" \
	test "$r1" = "PNG 128x64 damaged" -a "$(imginfo)" = "PNG 128x64 ok"
check "... the same bytes as without the marker" cmp -s img.bin full.bin
oai '{"prompt":"x [[fault:wrong-size]]","size":"128x64"}'
b64 'd["data"][0]["b64_json"]'
expect_img "PNG 64x32 ok" "[[fault:wrong-size]] in an openai prompt"
req /api/generate -H 'X-Fault: b64-cut' -d '{"model":"m","prompt":"Hi","stream":false}'
expect_text 'd["response"]' "A photo of a person, someone" "image faults mean no fault on LLM routes"
req /stats
expect_text 'd["image_requests"], d["llm_requests"], d["faults"]["b64-cut"], d["faults"]["image-cut"], d["faults"]["not-image"], d["faults"]["wrong-size"], d["faults"]["hang"], d["faults"]["reset"]' \
	"19 1 1 2 1 2 1 1" "/stats: image_requests and the image faults"
expect_text 'd["paths"]["/sdapi/v1/txt2img"] > 0 and d["paths"]["/v1/images/generations"] > 0 and d["images_made"] > 0 and d["image_us"] > 0' \
	True "/stats: image paths, images_made, image_us"
stop_fake

# --fault KIND:RATE on image routes: seeded, as for text.
codes() {
	start_fake --fault 500:0.3 --fault wrong-size:0.3 --seed "$1"
	local s="" k
	for k in 1 2 3 4 5 6 7 8 9 10; do
		a1111 '{"prompt":"x","seed":1,"width":64,"height":64}'
		if [ "$code" = 200 ]; then
			b64 'd["images"][0]'
			s="$s$(imginfo | cut -d' ' -f2) "
		else
			s="$s$code "
		fi
	done
	stop_fake
	echo "$s"
}
s1=$(codes 5)
s2=$(codes 5)
check "--fault rates on txt2img: same seed, same faults ($s1)" test "$s1" = "$s2"
mixed() { [[ "$s1" == *500* && "$s1" == *32x32* && "$s1" == *64x64* ]]; }
check "--fault rates: 500, wrong-size and whole images occur" mixed

# --- slots and latency --------------------------------------------------------
start_fake --slots 2 --latency-ms 200
t0=$(date +%s%N)
pids=()
for k in 1 2 3 4; do
	curl -s -o "par$k.json" --max-time 5 "${J[@]}" "$B/sdapi/v1/txt2img" \
		-d "{\"prompt\":\"p$k\",\"seed\":$k,\"width\":512,\"height\":512}" &
	pids+=($!)
done
wait "${pids[@]}"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "4 image requests, 2 slots, 200 ms each: ${ms} ms (>= 400)" test "$ms" -ge 400 -a "$ms" -lt 1400
req /stats
expect_text 'd["max_in_flight"], d["max_queued"] >= 1, d["ok"], d["image_requests"]' "2 True 4 4" \
	"/stats: max_in_flight == --slots for image requests"
n_ok=0
for k in 1 2 3 4; do
	jv "par$k.json" 'd["images"][0]' | tr -d '\n' | base64 -d >img.bin 2>/dev/null
	[ "$(imginfo)" = "PNG 512x512 ok" ] && n_ok=$((n_ok + 1))
done
check "all four got a whole 512x512 PNG" test "$n_ok" = 4
stop_fake
check "SIGTERM: exit 0" test "$rc" -eq 0
check "on exit the counters go to stderr, image_requests included" \
	test "$(tail -n 1 "$LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_requests"])')" = 4

# --- --mimic sd.cpp: options only from <sd_cpp_extra_args> in the prompt --
start_fake --mimic sd.cpp
xa() { printf '{"prompt":"a cat<sd_cpp_extra_args>%s</sd_cpp_extra_args>","size":"64x64"%s}' "$1" "${2:-}"; }
oai "$(xa '{\"seed\":1}')"
expect_code 200 "sd.cpp: extra args in the prompt"
jv body.txt 'd["data"][0]["b64_json"]' >x1.txt
jv body.txt 'd["data"][0]["revised_prompt"]' >xp.txt
check "sd.cpp: the block is cut out of the prompt" test "$(cat xp.txt)" = "a cat"
oai "$(xa '{\"seed\":2}')"
jv body.txt 'd["data"][0]["b64_json"]' >x2.txt
check "sd.cpp: another seed in the block, another picture" bash -c '! cmp -s x1.txt x2.txt'
oai '{"prompt":"a cat","size":"64x64","seed":1}'
jv body.txt 'd["data"][0]["b64_json"]' >x3.txt
oai '{"prompt":"a cat","size":"64x64","seed":7,"steps":3}'
jv body.txt 'd["data"][0]["b64_json"]' >x4.txt
check "sd.cpp: seed in the body ignored (42 both times)" cmp -s x3.txt x4.txt
oai "$(xa '{\"seed\":42}')"
jv body.txt 'd["data"][0]["b64_json"]' >x5.txt
check "sd.cpp: ... which is seed 42" cmp -s x3.txt x5.txt
oai "$(xa '{seed')"
expect_code 400 "sd.cpp: extra args that are not JSON"
check "sd.cpp: its message" grep -q "invalid sd_cpp_extra_args" body.txt
req /sdapi/v1/progress
expect_code 404 "sd.cpp has no /sdapi/v1/progress"
req /sdapi/v1/sd-models
expect_code 200 "sd.cpp serves /sdapi/v1/sd-models"
stop_fake

# --- --mimic openai: OpenAI's fields and sizes only ---------------------------
start_fake --mimic openai
oai '{"prompt":"x","size":"640x480"}'
expect_code 400 "openai: 640x480 for dall-e-2 (the default model)"
expect_text 'd["error"]["param"]' size "openai: param size"
oai '{"prompt":"x","model":"dall-e-3","size":"1792x1024"}'
expect_code 200 "openai: dall-e-3 1792x1024"
oai '{"prompt":"x","model":"dall-e-3","size":"512x512"}'
expect_code 400 "openai: dall-e-3 512x512"
oai '{"prompt":"x","size":"256x256","seed":1}'
expect_code 400 "openai: seed is an unknown parameter"
expect_text 'd["error"]["message"]' "Unknown parameter: 'seed'." "openai: its message"
oai '{"prompt":"x","model":"gpt-image-1","size":"1024x1536","response_format":"b64_json"}'
expect_code 400 "openai: gpt-image-1 refuses response_format"
oai '{"prompt":"x","model":"gpt-image-1","size":"1024x1536"}'
expect_code 200 "openai: gpt-image-1 1024x1536, base64"
req /sdapi/v1/sd-models
expect_code 404 "openai has no /sdapi/ routes"
stop_fake

# --- --api-auth: A1111's HTTP Basic on every /sdapi/ route --------------------
start_fake --api-auth 'u:p4ss'
req /sdapi/v1/sd-models
expect_code 401 "--api-auth: no credentials"
expect_text 'd["detail"]' "Not authenticated" "--api-auth: A1111's detail"
check "--api-auth: no WWW-Authenticate (A1111's handler drops it)" bash -c '! grep -qi "^WWW-Authenticate" head.txt'
req /sdapi/v1/progress -u u:wrong
expect_code 401 "--api-auth: a wrong password"
expect_text 'd["detail"] + "|" + d["errors"]' "Incorrect username or password|401: Incorrect username or password" \
	"--api-auth: A1111's body"
a1111 '{"prompt":"x","width":64,"height":64}' -u u:p4ss
expect_code 200 "--api-auth: the right credentials"
oai '{"prompt":"x","size":"64x64"}'
expect_code 200 "--api-auth: not on /v1/ routes"
stop_fake

# --die-after counts image requests as well.
start_fake --die-after 2
s=""
for k in 1 2; do
	oai '{"prompt":"x","size":"64x64"}'
	s="$s$code "
done
oai '{"prompt":"x","size":"64x64"}'
check "--die-after 2 with image requests: two answers, then refused" test "$s$cerr" = "200 200 7"
wait "$FLPID"
check "--die-after: exit 0" test $? -eq 0
# A sanitizer build ($FAKE_LLM) reports on stderr.
check "no sanitizer report in any server log" \
	bash -c '! grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" fl*.err'
finish
