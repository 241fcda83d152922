#!/usr/bin/env bash
# AUTOMATIC1111 started with --api-auth user:password: every /sdapi/ route
# wants HTTP Basic, a missing or wrong one is 401 (the fake's --api-auth
# answers as modules/api/api.py does). --image-auth-env NAME sends $NAME;
# requests and health probes carry it, and the password is never printed.
TEST_NAME=a1111_basic_auth
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"

stat_path() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"][sys.argv[1]])' "$2"
}
no_password() { ! grep -q "$1" out.txt err.txt; }

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null
n_prompts=$(python3 -c 'import json,glob; print(sum(1 for f in glob.glob("pr/*.json") for v in json.load(open(f)).values() if v.strip()))')

start_fake PA --api-auth 'hy:s3cret-Pw'
gen() { run_hy generate -p pr -s "$SHARDS" --image-endpoint "http://127.0.0.1:$PA" --retries 1 "$@"; }

HY_A1111_AUTH='hy:s3cret-Pw' gen -o ok --image-auth-env HY_A1111_AUTH
expect_rc 0 "the right user:password"
check "every prompt made an image ($n_prompts)" test "$(find ok -name '*.txt' | wc -l)" = "$n_prompts"
check "the password is not printed" no_password 's3cret-Pw'

HY_A1111_AUTH='hy:wrong-Pw' gen -o bad --image-auth-env HY_A1111_AUTH
expect_rc 1 "a wrong password: refused for good, a configuration error"
expect_err "HTTP 401" "the 401 is named"
expect_err "Incorrect username or password" "A1111's reason is quoted"
check "the wrong password is not printed" no_password 'wrong-Pw'
check "a wrong password: no edits" bash -c '! ls bad 2>/dev/null | grep -q .'

gen -o none
expect_rc 1 "no credentials: refused (401)"
expect_err "Not authenticated" "A1111's reason is quoted"

asked=$(stat_path "$PA" /sdapi/v1/txt2img)
gen -o unset --image-auth-env HY_NO_SUCH_AUTH_VAR
expect_rc 1 "--image-auth-env naming an unset variable: usage error"
expect_err 'HY_NO_SUCH_AUTH_VAR is not set' "the variable is named"
check "unset variable: nothing asked" test "$(stat_path "$PA" /sdapi/v1/txt2img)" = "$asked"
HY_A1111_AUTH='no-colon' gen -o nocolon --image-auth-env HY_A1111_AUTH
expect_rc 1 "a value without ':' is not user:password: usage error"
check "it is not printed either" no_password 'no-colon'
HY_A1111_AUTH='hy:x' HY_KEY=k gen -o both --image-auth-env HY_A1111_AUTH --api-key-env HY_KEY
expect_rc 1 "Basic and a bearer token at once: usage error"

# --- the health probe carries the credentials: an endpoint taken out after
# three 500s is probed at /sdapi/v1/sd-models, behind the same auth; a probe
# without them would get 401 and mark it broken ------------------------------
python3 - <<'PY'
import json, os
d = json.load(open("pr/00000000.json"))
k = next(k for k, v in d.items() if v.strip())
os.makedirs("pr1", exist_ok=True)
json.dump({k: "[[fault:500:3]] " + d[k]}, open("pr1/00000000.json", "w"))
PY
start_fake PP --api-auth 'hy:s3cret-Pw'
HY_A1111_AUTH='hy:s3cret-Pw' run_hy generate -p pr1 -s "$SHARDS/00000000.tar" -o probe \
	--image-endpoint "http://127.0.0.1:$PP" --image-auth-env HY_A1111_AUTH --image-threads 1 --retries 6 -q
expect_rc 0 "three 500s, a probe with the credentials, back"
check "the probe reached /sdapi/v1/sd-models" test "$(stat_path "$PP" /sdapi/v1/sd-models)" -ge 1
check "no 401 was answered" test "$(curl -s "http://127.0.0.1:$PP/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["401"])')" = 0

# --- run: vLLM's bearer key for the LLM, A1111's Basic for the images ------
start_fake PK --api-key llm-K3y-123
HY_A1111_AUTH='hy:s3cret-Pw' HY_KEY=llm-K3y-123 run_hy run "$SHARDS/00000000.tar" -w rw \
	--lang any --endpoint "http://127.0.0.1:$PK" --api-key-env HY_KEY \
	--image-endpoint "http://127.0.0.1:$PA" --image-auth-env HY_A1111_AUTH -q
expect_rc 0 "run: a bearer key for the LLM and Basic for the images, together"
check "run: neither secret printed" bash -c '! grep -q "s3cret-Pw\|llm-K3y-123" out.txt err.txt'
finish
