#!/usr/bin/env bash
# run: two runs of one rank on one work folder. The second is refused at
# once (exit 1) naming the work folder, the rank and the pid of the run that
# holds it, instead of both writing and renaming the same files; another
# rank goes on; and a run killed with SIGKILL leaves no lock behind (the
# kernel drops an flock with its holder), so the next run proceeds.
TEST_NAME=run_lock
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
OFF=(--api none --lang any --image-api none --leftover blur)

# --- the lock held from the shell --------------------------------------------
mkdir -p w/.hybridize
echo 4242 >w/.hybridize/lock-0
exec 9<w/.hybridize/lock-0
flock -n 9 || fail "the test cannot take the lock itself"
run_hy run "$SHARDS" -w w "${OFF[@]}" -q
expect_rc 1 "a second run of rank 0 is refused"
expect_err "'w' is in use by another run of rank 0 \(pid 4242\)" "the message names the work folder, the rank and the holder's pid"
check "nothing written" test ! -e w/shards -a ! -e w/captions
run_hy run "$SHARDS" -w w --rank 1 --world 2 "${OFF[@]}" -q
expect_rc 0 "rank 1 of the same work folder is not held back"
exec 9<&-
run_hy run "$SHARDS" -w w --rank 0 --world 2 "${OFF[@]}" -q
expect_rc 0 "once the lock is let go, rank 0 runs"
check "every final shard is there" test "$(ls w/shards | wc -l)" -eq 3

# --- a real run held up by a slow server, then killed -----------------------
start_fake P --slots 1 --latency-ms 60000
"$HY" run "$SHARDS" -w w2 --endpoint "http://127.0.0.1:$P" --lang any \
	--image-endpoint "http://127.0.0.1:$P" -q >a.out 2>a.err &
a=$!
# Waits for a state, not a time: the run has its lock once it has written
# its progress file (60 s is a bound for a stalled machine only).
for _ in $(seq 600); do
	[ -s w2/.hybridize/progress-0.json ] && break
	sleep 0.1
done
check "the first run is working" test -s w2/.hybridize/progress-0.json
run_hy run "$SHARDS" -w w2 "${OFF[@]}" -q
expect_rc 1 "a second run while the first works is refused"
expect_err "'w2' is in use by another run of rank 0 \(pid $a\)" "the running run's pid is named"
check "the first run is still working" kill -0 "$a"
kill -KILL "$a"
wait "$a" 2>/dev/null
run_hy run "$SHARDS" -w w2 "${OFF[@]}" -q
expect_rc 0 "after a SIGKILL the next run proceeds"
check "every final shard is there" test "$(ls w2/shards | wc -l)" -eq 3
finish
