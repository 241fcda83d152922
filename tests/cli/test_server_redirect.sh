#!/usr/bin/env bash
# An LLM or image server that answers with a redirect (3xx) is a wrong
# endpoint URL: prompts, generate and run stop with exit 1 and one message
# naming the endpoint and the Location; the redirect is never followed and
# no sample is recorded as declined, blurred or failed because of it.
TEST_NAME=server_redirect
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"

# A second fake that counts the requests a followed redirect would send.
start_fake PT
start_fake PR --fault redirect:1 --redirect-to "http://127.0.0.1:$PT/moved/here"
stat_of() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null

# --- prompts -------------------------------------------------------------
run_hy prompts -i cap -o po --lang any --endpoint "http://127.0.0.1:$PR" --retries 1 -q
expect_rc 1 "prompts: a redirect is a configuration error"
expect_err "http://127\.0\.0\.1:$PR.*HTTP 307.*http://127\.0\.0\.1:$PT/moved/here" \
	"prompts: the message names the endpoint and the Location"
check "prompts: one message, not one per sample" test "$(grep -c 'moved/here' err.txt)" = 1
check "prompts: no prompts file (nothing recorded as declined)" \
	bash -c '! ls po 2>/dev/null | grep -q json'
check "prompts: no sample reported as declined or failed" \
	bash -c '! grep -Eqi "declin|rejected|sample" err.txt'

# --- generate ------------------------------------------------------------
run_hy generate -p pr -s "$SHARDS" -o ge --image-endpoint "http://127.0.0.1:$PR" --retries 1 -q
expect_rc 1 "generate: a redirect is a configuration error"
expect_err "http://127\.0\.0\.1:$PR.*HTTP 307.*http://127\.0\.0\.1:$PT/moved/here" \
	"generate: the message names the endpoint and the Location"
check "generate: one message, not one per sample" test "$(grep -c 'moved/here' err.txt)" = 1
check "generate: no edits (nothing recorded as blurred)" \
	bash -c '! grep -rqs "blurred\|refused" ge'
check "generate: no sample reported as refused" bash -c '! grep -qi "refused by the image server" err.txt'

# --- run (LLM stage redirected) ------------------------------------------
run_hy run "$SHARDS" -w w --lang any --endpoint "http://127.0.0.1:$PR" --image-api none --retries 1 -q
expect_rc 1 "run: a redirect is a configuration error"
expect_err "http://127\.0\.0\.1:$PR.*HTTP 307.*moved/here" "run: the endpoint and Location are named"
check "run: no final shards" bash -c '! find w -name "*.tar" | grep -q .'

# Never followed: the target saw no request at all.
check "the redirect was never followed" test "$(stat_of "$PT" requests)" = 0

finish
