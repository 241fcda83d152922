#!/usr/bin/env bash
# How many requests each server gets: llama-server serves HTTP on a few
# threads, each held by one keep-alive connection, so a client with more
# connections than threads waits unread and times out; the client asks
# /props for the slots and stays within them. At the end of a run, a
# request still waiting on a slow server is copied to an idle fast one:
# the first answer wins, the other transfer is cancelled, and the output
# and the journal hold one answer per sample.
TEST_NAME=server_capacity
. "$(dirname "$0")/lib.sh"

make_captions cap 120 2

# --- llama-server: 4 slots, 6 HTTP threads ---------------------------------
# --num_threads 20 (the default) and no retries: a request on a connection
# past the 6 threads would wait for a thread past its 3 s timeout.
start_fake L --slots 4 --latency-ms 30 --http-threads 6
run_hy prompts -i cap -o pl --lang any --api openai --model_name fake:latest \
	--endpoint "http://127.0.0.1:$L" --retries 0 --timeout 3 --no-fsync
expect_rc 0 "llama-server: every request answered within its timeout"
check "llama-server: 120 prompts" test "$(prompts_count pl)" = 120
check "llama-server: no connection waited for a thread" test "$(stat_of "$L" max_conn_waiting)" = 0
check "llama-server: the client read /props" \
	python3 -c 'import json,sys,urllib.request as u
p = json.load(u.urlopen("http://127.0.0.1:%s/stats" % sys.argv[1]))["paths"]
sys.exit(0 if p.get("/props", 0) >= 1 else 1)' "$L"
check "llama-server: its limit is the slots, or + 1" grep -Eq "127\.0\.0\.1:$L .* [45]$" out.txt
stop_fakes

# --- copies to an idle server at the end -----------------------------------
# One fast endpoint and one that takes 3 s a request: the last requests
# sent to the slow one are copied to the fast one and answered there.
start_fake F --slots 4 --latency-ms 20
start_fake S --slots 4 --latency-ms 3000
run_hy prompts -i cap -o pc --lang any --endpoint "http://127.0.0.1:$F" \
	--endpoint "http://127.0.0.1:$S" --no-fsync
expect_rc 0 "copies: the run ends well"
check "copies: 120 prompts, one per sample" test "$(prompts_count pc)" = 120
copies=$(awk '$1 == "copies" {print $2}' out.txt)
won=$(awk '$1 == "copies" {print $3}' out.txt | tr -d '(')
check "copies: some were sent ($copies) and answered first ($won)" \
	test "${copies:-0}" -gt 0 -a "${won:-0}" -gt 0
got=$(($(stat_of "$F" llm_requests) + $(stat_of "$S" llm_requests)))
check "copies: the servers received no more than samples + copies ($got)" \
	test "$got" -le $((120 + ${copies:-0}))
check "copies: the slow server saw the losers leave" test "$(stat_of "$S" cancelled)" -ge 1
# Same output without copies: one answer per sample either way.
run_hy prompts -i cap -o pn --lang any --endpoint "http://127.0.0.1:$F" \
	--endpoint "http://127.0.0.1:$S" --no-fsync --no-copies
expect_rc 0 "--no-copies: the run ends well"
check "--no-copies: no copy sent" grep -Eq "^ +copies +0 " out.txt
check "the prompts are the same with and without copies" json_eq pc/00000000.json pn/00000000.json
check "the prompts are the same with and without copies (2)" json_eq pc/00000001.json pn/00000001.json

finish
