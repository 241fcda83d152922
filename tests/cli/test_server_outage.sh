#!/usr/bin/env bash
# An outage of every server (a restart, a model reload) is waited out: while
# no endpoint is up, requests wait and the health probes go on, without
# spending the samples' retries, and the progress line says so; when the
# server is back every sample is done and the run exits 0. Past
# --server-patience the samples fail as any failure does (exit 2, each
# named), so a job whose servers never come back still ends.
TEST_NAME=server_outage
. "$(dirname "$0")/lib.sh"

make_captions cap 200 4

# --- waited out ------------------------------------------------------------
# The server dies after 60 answers (all its connections reset) and comes
# back on the same port once the client has said that it waits. With
# --retries 1 and no waiting, every sample in flight or queued would fail
# within a few seconds.
start_fake P --slots 4 --latency-ms 10 --die-after 60
"$HY" prompts -i cap -o po --lang any --endpoint "http://127.0.0.1:$P" \
	--retries 1 --timeout 5 --progress-interval 0.2 --no-fsync >out.txt 2>err.txt &
hy=$!
for _ in $(seq 600); do
	grep -q "waiting for a server" err.txt && break
	kill -0 "$hy" 2>/dev/null || break
	sleep 0.05
done
check "the progress line says it waits for a server" \
	grep -q "waiting for a server: none up for [0-9]* s (patience 600 s)" err.txt
# Several probe rounds and more than the retry budget's backoff go by.
sleep 4
check "still waiting, not failing samples" kill -0 "$hy"
"$FAKE" --port "$P" --max-seconds "$FAKE_MAX_SECONDS" --slots 4 --latency-ms 10 \
	>/dev/null 2>>"$T/fake.err" &
pids+=($!)
wait "$hy"
rc=$?
check "exit 0 after the outage (got $rc)" test "$rc" = 0
check "every sample has its prompt" test "$(prompts_count po)" = 200
check "the summary counts no failure" grep -Eq "^ +failed +0$" out.txt
stop_fakes

# --- past the patience -----------------------------------------------------
start_fake P2 --slots 4 --latency-ms 10 --die-after 20
run_hy prompts -i cap -o po2 --lang any --endpoint "http://127.0.0.1:$P2" \
	--retries 1 --timeout 5 --server-patience 1 --no-fsync -q
expect_rc 2 "past --server-patience the samples fail (exit 2)"
expect_err "127\.0\.0\.1:$P2: .*(connect|Connection)" "each failure names the endpoint and the reason"

finish
