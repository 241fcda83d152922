#!/usr/bin/env bash
# prompts: language filter, LLM rewrite against the fake ollama / OpenAI
# server (tests/servers/fake_llm.c, which answers 400 to any request that
# breaks the documented APIs), every fault kind, dead endpoints, the seed
# script's flags, identical captions sent once, and resume after SIGKILL.
TEST_NAME=prompts
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }

# captions DIR NAME 'KEY=TEXT'...: writes a captions file.
captions() {
	local dir=$1 name=$2
	shift 2
	mkdir -p "$dir"
	python3 - "$dir/$name.json" "$@" <<'PY'
import json, sys
d = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    d[k + ".json"] = v
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), indent=4, ensure_ascii=False)
PY
}
keys() { python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1])))))' "$1"; }
summary_value() { awk -v k="$1" '$0 ~ "^ *"k" " { print $NF; exit }' out.txt; }

"$HY" scan "$SHARDS" -o cap -q >/dev/null

# --- offline: language filter only ---------------------------------------
run_hy prompts -i cap -o none --api none -q
expect_rc 0 "--api none needs no server"
check "German caption left out" bash -c '! grep -q "Familie beim Picknick" none/*.json'
check "French caption left out" bash -c '! grep -q "Photo de famille" none/*.json'
check "Japanese caption left out" bash -c '! grep -q "夏の海" none/*.json'
check "English caption kept as the prompt" grep -q '"000000000024.json": "A young woman smiling at the camera on a sunny beach"' none/00000000.json
run_hy prompts -i cap -o any --api none --lang any -q
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump({k: v for k, v in d.items() if v.strip()}, open(sys.argv[2], "w"))' cap/00000001.json cap1_text.json
check "--lang any keeps every caption that has text" json_eq any/00000001.json cap1_text.json
check "--lang any: the fixture's empty captions are left out" test "$(summary_value "other lang/empty")" = 5
run_hy prompts -i cap -o de --api none --lang de -q
check "--lang de keeps the German caption only" bash -c 'grep -q "Familie beim Picknick" de/*.json && ! grep -q "A young woman" de/*.json'
run_hy prompts -i cap -o x --api none --lang-model /nonexistent/lid.ftz -q
expect_rc 1 "missing language model"
expect_err "/nonexistent/lid.ftz.*fetch-model" "the missing model is named, with the fix"

# --- ollama: the seed script's flags --------------------------------------
start_fake P1 --slots 2 --latency-ms 5
start_fake P2 --slots 2 --latency-ms 5
run_hy prompts -i cap -o ol --ports "$P1,$P2" --host 127.0.0.1 --model_name person_tagger --num_threads 4 --timeout 5 -q
expect_rc 0 "ollama /api/generate over --ports with --host"
check "same samples as the offline filter" test "$(keys ol/00000000.json)" = "$(keys none/00000000.json)"
check "prompts are the server's rewrites" grep -q '"000000000024.json": "A photo of a person, ' ol/00000000.json
n_distinct=$(python3 -c 'import json,glob; print(len({v for f in glob.glob("none/*.json") for v in json.load(open(f)).values()}))')
check "one request per distinct caption ($n_distinct)" test "$(summary_value requests)" = "$n_distinct"
check "saved requests reported" test "$(summary_value "saved \\(same caption\\)")" -gt 0
check "no journal left" bash -c '! ls -a ol | grep -q journal'
check "per-endpoint latency table" grep -q "p95" out.txt
run_hy prompts -i cap -o olc --ports "$P1" --chat -q
expect_rc 0 "ollama /api/chat (--chat)"
check "chat answers match generate answers" json_eq olc/00000002.json ol/00000002.json
run_hy prompts -i cap -o x --ports "$P1" --model_name no_such_model -q
expect_rc 0 "an unknown model is accepted by a lenient server"

# --- openai API with a bearer token ----------------------------------------
start_fake PO --api-key s3cret --model m1
run_hy prompts -i cap -o oa --endpoint "http://127.0.0.1:$PO" --api openai --model_name m1 --api-key-env HY_TEST_KEY -q
expect_rc 1 "unset --api-key-env variable is a usage error"
HY_TEST_KEY=s3cret run_hy prompts -i cap -o oa --endpoint "http://127.0.0.1:$PO" --api openai --model_name m1 --api-key-env HY_TEST_KEY -q
expect_rc 0 "openai /v1/chat/completions with a bearer token"
check "openai answers match ollama's" json_eq oa/00000001.json ol/00000001.json
HY_TEST_KEY=wrong run_hy prompts -i cap -o oa2 --endpoint "http://127.0.0.1:$PO" --api openai --model_name m1 --api-key-env HY_TEST_KEY --retries 1 -q
expect_rc 1 "a refused token is a configuration error (no endless retry)"
expect_err "every endpoint refuses.*HTTP 401" "the HTTP status is named"
check "no output for a shard with failed samples" test ! -e oa2/00000000.json
# The summary counts what went out, not what was queued: one request in
# flight (--num_threads 1) is refused, the run stops, and nothing else was
# sent or answered.
start_fake PK --api-key s3cret --model m1
HY_TEST_KEY=wrong run_hy prompts -i cap -o oa2k --endpoint "http://127.0.0.1:$PK" --api openai --model_name m1 --api-key-env HY_TEST_KEY --num_threads 1 -q
expect_rc 1 "refused key, one request in flight"
sent=$(curl -s --max-time 5 "http://127.0.0.1:$PK/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"]["/v1/chat/completions"])')
check "401: requests in the summary = requests the server got ($(summary_value requests) = $sent)" \
	test "$(summary_value requests)" = "$sent"
check "401: no request counted as saved by an answer never received" \
	test "$(summary_value "saved \\(same caption\\)")" = 0
HY_TEST_KEY=s3cret run_hy prompts -i cap -o oa3 --endpoint "http://127.0.0.1:$PO" --api openai --model_name other --api-key-env HY_TEST_KEY --retries 1 -q
expect_rc 1 "a model the server lacks is a configuration error"
expect_err "HTTP 404" "the refusal is named"
check "refusals: one message, not one per sample" test "$(grep -c 'HTTP 404' err.txt)" = 1

# --- every fault kind, per request ------------------------------------------
start_fake PF --slots 4
for kind in 429 500 503 garbage half reset hang slow-body; do
	rm -rf f_in f_out
	captions f_in s1 "k1=A man reading [[fault:$kind:1]]" "k2=A woman walking"
	run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --api ollama --lang any --timeout 1 --retries 3 -q
	expect_rc 0 "fault $kind once: retried, then answered"
	check "fault $kind: both samples have prompts" test "$(keys f_out/s1.json)" = "k1.json k2.json"
	check "fault $kind: a retry was counted" test "$(summary_value retries)" -ge 1
done
for kind in refuse empty; do
	rm -rf f_in f_out
	captions f_in s1 "k1=A man reading [[fault:$kind]]" "k2=A woman walking"
	run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any -q
	expect_rc 0 "answer '$kind' is a decline, not an error"
	check "$kind: declined sample left out, other kept" test "$(keys f_out/s1.json)" = "k2.json"
	expect_err "s1.json: sample 'k1.json': LLM declined" "$kind: the decline is reported by sample"
	check "$kind: counted as declined" test "$(summary_value declined)" = 1
done
rm -rf f_in f_out
captions f_in s1 "k1=Prompt: wrapped" "k2=plain"
start_fake PQ --reply-prefix 'Prompt: ' --reply-quotes --reply-mode echo
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PQ" --lang any -q
check "labels and quotes stripped from answers" json_eq f_out/s1.json <(printf '{"k1.json": "wrapped", "k2.json": "plain"}')

# --- per-sample refusals and cut answers are declines, not failures --------
rm -rf f_in f_out
# A malformed fault marker is the fake server's way to answer 400.
captions f_in s1 "k1=A man [[fault:bogus]]" "k2=A woman walking"
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any -q
expect_rc 0 "a request the server rejects (HTTP 400) does not block the shard"
check "400: the rejected sample is left out, the other kept" test "$(keys f_out/s1.json)" = "k2.json"
expect_err "sample 'k1.json': LLM declined: rejected by the server: .*HTTP 400" "400: reported as rejected, with the status"
rm -rf f_out
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any --max-tokens 2 -q
expect_err "sample 'k2.json': LLM declined: cut at --max-tokens" "an answer cut at --max-tokens is declined"

# --- captions with no text are never sent, also with --lang any -----------
rm -rf f_in f_out
captions f_in s1 "k1=" "k2=A woman walking" "k3= 	 " "k4=A man reading"
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any -q
expect_rc 0 "empty captions: exit 0"
check "empty captions: left out of the output" test "$(keys f_out/s1.json)" = "k2.json k4.json"
check "empty captions: no request for them (2 sent)" test "$(summary_value requests)" = 2
check "empty captions: counted with the other languages" test "$(summary_value "other lang/empty")" = 2
check "empty captions: not reported as declined" test "$(summary_value declined)" = 0

# --- a sample that keeps failing is left for the next run -------------------
rm -rf f_in f_out
captions f_in s1 "k1=A man reading [[fault:500]]" "k2=A woman walking"
captions f_in s2 "k3=A child running"
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any --retries 2 -q
expect_rc 2 "a sample failing every try: exit 2"
expect_err "s1.json: sample 'k1.json': .*HTTP 500" "the failing sample is named with the reason"
check "its shard has no output" test ! -e f_out/s1.json
check "its journal keeps the finished answer" grep -q '"k2.json"' f_out/.s1.journal
check "the other shard finished" test -e f_out/s2.json
captions f_in s1 "k1=A man reading" "k2=A woman walking"
start_fake PC --slots 1
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PC" --lang any -q
expect_rc 0 "re-run finishes the shard"
check "re-run took k2 from the journal" test "$(summary_value "from journal")" = 1
check "re-run skipped the finished shard" test "$(summary_value "already done")" = 1
check "journal removed once done" test ! -e f_out/.s1.journal

# --- a journal made with other options is not mixed into the output -------
rm -rf f_in f_out
captions f_in s1 "k1=A man reading [[fault:500]]" "k2=A woman walking"
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PF" --lang any --retries 1 -q
check "options: a journal is left behind" grep -q '"k2.json"' f_out/.s1.journal
captions f_in s1 "k1=A man reading" "k2=A woman walking"
run_hy prompts -i f_in -o f_out --endpoint "http://127.0.0.1:$PC" --lang any --model_name other_model -q
expect_rc 0 "options: re-run with another model"
expect_err "s1.json: journal made with other options" "options: the stale journal is reported"
check "options: no answer taken from it" test "$(summary_value "from journal")" = 0

# --- endpoints that are dead, or die halfway ---------------------------------
rm -rf d_out
run_hy prompts -i cap -o d_out --endpoint http://127.0.0.1:1 --endpoint "http://127.0.0.1:$P1" -q
expect_rc 0 "one dead endpoint: the live one does the work"
check "dead endpoint: same prompts" json_eq d_out/00000000.json ol/00000000.json
start_fake PD --die-after 3 --latency-ms 20
rm -rf d_out
run_hy prompts -i cap -o d_out --endpoint "http://127.0.0.1:$PD" --endpoint "http://127.0.0.1:$P2" -q
expect_rc 0 "an endpoint dying halfway: nothing lost"
check "dying endpoint: same prompts" json_eq d_out/00000001.json ol/00000001.json
run_hy prompts -i cap -o d2 --endpoint http://127.0.0.1:1 --retries 1 --timeout 1 --server-patience 1 -q
expect_rc 2 "every endpoint dead past --server-patience: samples fail, named"
expect_err "127.0.0.1:1" "the dead endpoint is named"

# --- a dead endpoint is probed and brought back once it answers ---------------
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf back_in back_out
python3 - <<'PY'
import json, os
os.makedirs("back_in", exist_ok=True)
json.dump({"b%03d.json" % i: "A person walking a dog, take %d" % i for i in range(60)},
          open("back_in/s.json", "w"), indent=4)
PY
start_fake PA --slots 1 --latency-ms 200
"$HY" prompts -i back_in -o back_out --lang any --num_threads 4 \
	--endpoint "http://127.0.0.1:$PA" --endpoint "http://127.0.0.1:$free_port" >back.txt 2>&1 &
runner=$!
sleep 1.5
"$FAKE" --port "$free_port" --max-seconds 60 >/dev/null 2>>"$T/fake.err" &
pids+=($!)
wait $runner
check "endpoint back: run finished" test -e back_out/s.json
check "endpoint back: it served requests once up" awk -v p=":$free_port" \
	'index($0, p) && $2 > 0 { found = 1 } END { exit !found }' back.txt

# --- resume after SIGKILL: same bytes as an uninterrupted run ---------------
rm -rf big
python3 - <<'PY'
import json, os
os.makedirs("big", exist_ok=True)
for s in range(3):
    d = {"%d%04d.json" % (s, i): "A person number %d standing in scene %d" % (i, s) for i in range(120)}
    json.dump(d, open("big/%08d.json" % s, "w"), indent=4)
PY
start_fake PK --slots 4 --latency-ms 10
run_hy prompts -i big -o k_ref --endpoint "http://127.0.0.1:$PK" --lang any --num_threads 4 -q
expect_rc 0 "uninterrupted run"
"$HY" prompts -i big -o k_out --endpoint "http://127.0.0.1:$PK" --lang any --num_threads 4 -q >/dev/null 2>&1 &
victim=$!
for _ in $(seq 200); do
	n=$(cat k_out/.*.journal 2>/dev/null | wc -l)
	[ "$n" -ge 40 ] && break
	sleep 0.02
done
kill -9 $victim 2>/dev/null
wait $victim 2>/dev/null
check "killed with answers in the journal" test "$(cat k_out/.*.journal 2>/dev/null | wc -l)" -ge 1
run_hy prompts -i big -o k_out --endpoint "http://127.0.0.1:$PK" --lang any --num_threads 4 -q
expect_rc 0 "re-run after SIGKILL"
check "resumed from the journal" test "$(summary_value "from journal")" -ge 1
for f in k_ref/*.json; do
	check "$(basename "$f") byte-identical to the uninterrupted run" cmp -s "$f" "k_out/$(basename "$f")"
done
check "no journal or temporary file left" bash -c '! ls -a k_out | grep -Eq "journal|\.part"'

# --- SIGTERM: exit 143, nothing partial --------------------------------------
start_fake PS --slots 1 --latency-ms 200
"$HY" prompts -i big -o s_out --endpoint "http://127.0.0.1:$PS" --lang any -q >/dev/null 2>&1 &
victim=$!
sleep 0.5
kill -TERM $victim
wait $victim
rc=$?
check "SIGTERM: exit 143 (got $rc)" test "$rc" = 143
check "SIGTERM: no partial output" bash -c '! ls s_out | grep -q "\.json$"; ! ls -a s_out | grep -q "\.part"'

stop_fakes
finish
