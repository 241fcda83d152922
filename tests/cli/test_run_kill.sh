#!/usr/bin/env bash
# Kill safety of `run`: SIGKILL at 20 random moments (and SIGTERM, which
# must exit 143), re-run until done: the final shards, and every stage file,
# are byte-identical to an uninterrupted run, and no temporary file is left.
# The servers are the fake LLM + image server with latency, so kills land
# inside every stage: mid-scan, mid-journal, mid-.part, mid-reshard.
TEST_NAME=run-kill
. "$(dirname "$0")/lib.sh"
FAKE_MAX_SECONDS=600

GEN=$ROOT/build/gen_shards
for b in "$FAKE" "$GEN"; do [ -x "$b" ] || { fail "$b missing (make tools)"; finish; }; done

"$GEN" -o src --shards 8 --samples 60 >/dev/null 2>&1
start_fake P --slots 2 --latency-ms 60
ARGS=(src -q --no-fsync --lang any --endpoint "http://127.0.0.1:$P"
	--image-endpoint "http://127.0.0.1:$P" --leftover blur -j 2)

t0=$(date +%s.%N)
"$HY" run "${ARGS[@]}" -w ref >ref.out 2>&1
rc=$?
t1=$(date +%s.%N)
expect_rc 0 "uninterrupted run"
# Each run lives a random part of a twentieth of the whole job's length
# (plus its start): 20 of them reach well into the job, every stage
# running, and leave work for the final re-run.
span_ms=$(python3 -c "print(max(200, int((float('$t1') - float('$t0')) * 40)))")
echo "# uninterrupted run: $(python3 -c "print(round(float('$t1') - float('$t0'), 2))") s; kills within ${span_ms} ms"

# The killed runs talk to a server four times slower: how much work the
# runs before it get done in their windows then never decides whether work
# is left for the kills (with the reference's server, 20 windows of up to
# 1/25 of the job were sometimes enough to finish it, and the last runs
# had nothing left to kill). Outputs do not depend on the latency.
start_fake P2 --slots 2 --latency-ms 240
ARGS=(src -q --no-fsync --lang any --endpoint "http://127.0.0.1:$P2"
	--image-endpoint "http://127.0.0.1:$P2" --leftover blur -j 2)

kills=0 term_ok=1
for i in $(seq 20); do
	"$HY" run "${ARGS[@]}" -w w >>runs.out 2>&1 &
	pid=$!
	sleep "$(python3 -c "import random; random.seed($i); print(random.randint(50, $span_ms) / 1000)")"
	if kill -0 "$pid" 2>/dev/null; then
		if [ "$i" -eq 10 ]; then
			kill -TERM "$pid"
			wait "$pid"
			st=$?
			# 0 when it finished just before the signal landed
			[ "$st" -eq 143 ] || [ "$st" -eq 0 ] || term_ok=0
			echo "SIGTERM -> exit $st" >>runs.out
		else
			kill -KILL "$pid"
			wait "$pid" 2>/dev/null
			kills=$((kills + 1))
		fi
	else
		wait "$pid"
	fi
done
check "SIGTERM exits 143" test "$term_ok" -eq 1
check "$kills of 19 runs killed with SIGKILL while working" test "$kills" -ge 15
done_ok=0
for _ in 1 2 3; do
	"$HY" run "${ARGS[@]}" -w w >final.out 2>&1 && { done_ok=1; break; }
done
check "a re-run finishes after the kills" test "$done_ok" -eq 1
check "final shards byte-identical to the uninterrupted run" diff -r ref/shards w/shards
check "stage files identical too (captions, prompts, edits)" diff -r -x .hybridize -x '.server-*' ref w
left=$(find w -name '*.part' -o -name '.*.part' -o -name '*.journal' -o -name '.*.tmp')
check "no temporary file left${left:+: $left}" test -z "$left"
finish
