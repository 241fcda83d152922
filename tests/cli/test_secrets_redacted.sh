#!/usr/bin/env bash
# Secrets never reach stderr, stdout (the summary), stage files, journals or
# status files: an API key that a server quotes back in an error (a 401,
# or a 400 that echoes the Authorization header), and the user:password of
# an endpoint URL. Each leak check greps every byte the run left behind.
TEST_NAME=secrets_redacted
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"

# noleak SECRET DIR...: nothing written (stderr, stdout, files, hidden
# ones too) holds SECRET.
noleak() {
	local s=$1
	shift
	! grep -rqsF -- "$s" err.txt out.txt "$@"
}

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null

# --- a wrong key quoted back in the 401 --------------------------------------
start_fake PK --api-key sk-right-1 --model m1
HY_KEY=sk-wrong-SECRET-1111 run_hy prompts -i cap -o p1 --lang any --api openai --model_name m1 \
	--endpoint "http://127.0.0.1:$PK" --api-key-env HY_KEY --retries 0
expect_rc 1 "a refused key stops the run"
expect_err "HTTP 401.*got: Bearer \*\*\*" "the server's answer is shown, the key masked"
check "401: the key is nowhere" noleak SECRET-1111 p1

# --- the right key echoed in a 400 (a declined sample) -----------------------
start_fake PE --api-key sk-SECRET-22 --model m1 --fault echo-key:0.5
HY_KEY=sk-SECRET-22 run_hy prompts -i cap -o p2 --lang any --model_name m1 \
	--endpoint "http://127.0.0.1:$PE" --api-key-env HY_KEY
expect_err "rejected by the server: .*HTTP 400.*echo-key: Bearer \*\*\*" \
	"prompts: the echoing 400 is reported, the key masked"
check "prompts: the key is nowhere (stderr, summary, prompts, journals)" \
	noleak SECRET-22 p2

# run: the same through the pipeline, with its status files.
HY_KEY=sk-SECRET-22 run_hy run "$SHARDS" -w w --lang any --model_name m1 \
	--endpoint "http://127.0.0.1:$PE" --api-key-env HY_KEY --image-api none
expect_err "Bearer \*\*\*" "run: the echoing 400 is reported, the key masked"
check "run: the key is nowhere (stage and status files included)" \
	noleak SECRET-22 w

# generate: an image server echoing the key; reasons go to .generate.json.
start_fake PI --api-key sk-img-SECRET-3333 --model m1 --fault echo-key:0.5
HY_KEY=sk-img-SECRET-3333 run_hy generate -p pr -s "$SHARDS" -o g1 --image-api openai --image-model m1 \
	--image-endpoint "http://127.0.0.1:$PI" --api-key-env HY_KEY
expect_err "refused by the image server: .*Bearer \*\*\*" "generate: the refusal is reported, the key masked"
check "generate: a reason was recorded in the edits" grep -rqs "refused by the image server" g1
check "generate: the key is nowhere (edits, status files included)" \
	noleak SECRET-3333 g1

# --- user:password in an endpoint URL ----------------------------------------
start_fake PU --fault 500:1
run_hy prompts -i cap -o p3 --lang any --endpoint "http://alice:pa55-SECRET-4444@127.0.0.1:$PU" --retries 0
expect_rc 2 "an endpoint failing every request: samples failed"
expect_err "http://\*\*\*@127\.0\.0\.1:$PU: HTTP 500" "failures name the endpoint without its user:password"
check "the summary's endpoint table shows it masked too" grep -qF "http://***@127.0.0.1:$PU" out.txt
check "user:password: the password is nowhere" noleak SECRET-4444 p3
check "user:password: the user name is nowhere" noleak alice: p3

finish
