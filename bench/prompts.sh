#!/usr/bin/env bash
# bench/prompts.sh: how close `hybridize prompts` keeps LLM servers to their
# ideal throughput, against the fake server (tests/servers/fake_llm.c) with
# a fixed number of slots and a fixed latency per request; the client's own
# ceiling against an instant server; and the language filter's speed.
# Run by `make bench` after bench/run.sh, or alone:
#   bash bench/prompts.sh        (knob: PROMPTS_SECONDS, default 30 per case: the last second, when
#   the slowest endpoint drains its queue, is part of any finite run and
#   weighs 8% of a 12 s run but 3% of a 30 s one)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
HY=build/hybridize
FAKE=build/fake_llm
SECS=${PROMPTS_SECONDS:-30}
for b in "$HY" "$FAKE"; do
	[ -x "$b" ] || { echo "bench: $b missing: run 'make all tools'" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/hy-bench-prompts.XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

# captions DIR N: N distinct English captions over 4 files.
captions() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
per = (n + 3) // 4
for s in range(4):
    out = {"%d%07d.json" % (s, i): "A person number %d standing in scene %d near a window" % (i, s)
           for i in range(per) if s * per + i < n}
    json.dump(out, open(os.path.join(d, "%08d.json" % s), "w"), indent=4)
PY
}

# fake ARGS...: starts a server and prints its port.
fake() {
	local pf
	pf=$(mktemp "$W/port.XXXXXX")
	rm -f "$pf"
	"$FAKE" --port 0 --port-file "$pf" --max-seconds 300 "$@" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	cat "$pf"
}

# run NAME N IDEAL_FN ENDPOINT_ARGS...: runs prompts over N captions,
# prints achieved requests/s against the ideal.
results=()
run_case() {
	local name=$1 n=$2 ideal=$3
	shift 3
	rm -rf "$W/cap" "$W/out"
	captions "$W/cap" "$n"
	local t0 t1
	t0=$(date +%s.%N)
	"$HY" prompts -i "$W/cap" -o "$W/out" --lang any --no-fsync -q "$@" >"$W/log" 2>&1 ||
		{ echo "bench: $name: prompts failed:"; tail -5 "$W/log"; }
	# The summary: failures and copies, for the checks after the case.
	failed=$(awk '$1 == "failed" {v = $2} END {print v}' "$W/log")
	copies=$(awk '$1 == "copies" {print $2; exit}' "$W/log")
	t1=$(date +%s.%N)
	python3 - "$name" "$n" "$t0" "$t1" "$ideal" <<'PY'
import sys
name, n, t0, t1, ideal = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
t = t1 - t0
rate = n / t
# ideal: requests/s, or "die:R1:R2:T" = R1 until T seconds, then R2, or
# "out:R1:R2:T:D" = R2 from T to T + D seconds, else R1
if ideal.startswith("die:"):
    _, r1, r2, td = ideal.split(":")
    r1, r2, td = float(r1), float(r2), float(td)
    best = r1 * min(t, td) + r2 * max(0.0, t - td)
    frac = n / best
    ideal_txt = "%g/s, then %g/s after %gs" % (r1, r2, td)
elif ideal.startswith("out:"):
    _, r1, r2, t0_, d = ideal.split(":")
    r1, r2, t0_, d = float(r1), float(r2), float(t0_), float(d)
    down = max(0.0, min(t, t0_ + d) - t0_)
    best = r1 * (t - down) + r2 * down
    frac = n / best
    ideal_txt = "%g/s, %g/s for %gs" % (r1, r2, d)
else:
    frac = rate / float(ideal)
    ideal_txt = "%s/s" % ideal
verdict = "PASS" if frac >= 0.95 else "FAIL"
print("%-44s %6d req in %6.2f s = %7.1f req/s; ideal %-24s %5.1f%%  %s"
      % (name, n, t, rate, ideal_txt, frac * 100, verdict))
PY
}

echo "bench prompts: fake servers on 127.0.0.1, $(nproc) cores"
P=()
for _ in 1 2 3 4; do P+=("$(fake --slots 4 --latency-ms 200)"); done
n=$((80 * SECS))
run_case "4 endpoints x 4 slots x 200 ms" "$n" 80 \
	--endpoint "http://127.0.0.1:${P[0]}" --endpoint "http://127.0.0.1:${P[1]}" \
	--endpoint "http://127.0.0.1:${P[2]}" --endpoint "http://127.0.0.1:${P[3]}"

# requests the fakes on these ports received, over all of them
received() {
	local sum=0 p
	for p in "$@"; do
		sum=$((sum + $(curl -s "http://127.0.0.1:$p/stats" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["llm_requests"])')))
	done
	echo "$sum"
}

# Each endpoint gets what it serves well, whatever --num_threads allows,
# and the slow one's queue does not end the run alone (copies).
Q=()
for ms in 100 200 400 800; do Q+=("$(fake --slots 4 --latency-ms $ms)"); done
n=$((75 * SECS))
for nt in 64 256; do
	before=$(received "${Q[@]}")
	run_case "4 x 4 slots, 100/200/400/800 ms, -n $nt" "$n" 75 --num_threads "$nt" \
		--endpoint "http://127.0.0.1:${Q[0]}" --endpoint "http://127.0.0.1:${Q[1]}" \
		--endpoint "http://127.0.0.1:${Q[2]}" --endpoint "http://127.0.0.1:${Q[3]}"
	got=$(($(received "${Q[@]}") - before))
	printf '%-44s %6d received <= %d samples + %d copies  %s\n' "  requests at the servers" \
		"$got" "$n" "${copies:-0}" "$([ "$got" -le $((n + ${copies:-0})) ] && echo PASS || echo FAIL)"
done

# A server that queues past its slots, a client with --timeout 10 and
# --num_threads 256: 256 in flight would wait 64 s; the learned limit
# keeps each request well inside its timeout.
S1=$(fake --slots 4 --latency-ms 1000)
n=$((4 * SECS))
run_case "queues past 4 slots x 1 s, --timeout 10 -n 256" "$n" 4 \
	--num_threads 256 --timeout 10 --endpoint "http://127.0.0.1:$S1"
printf '%-44s %6s failed (timeouts)  %s\n' "" "${failed:-?}" "$([ "${failed:-1}" = 0 ] && echo PASS || echo FAIL)"

# llama-server: 4 slots, HTTP on 6 threads (--parallel 4 + 2), each held
# by a keep-alive connection; /props tells the slots. With the default
# --num_threads 20, connections past 6 would wait unread.
L1=$(fake --slots 4 --latency-ms 200 --http-threads 6)
n=$((20 * SECS))
run_case "llama-server: 4 slots, 6 HTTP threads, --api openai" "$n" 20 \
	--api openai --model_name fake:latest --timeout 10 --endpoint "http://127.0.0.1:$L1"
printf '%-44s %6s failed (timeouts)  %s\n' "" "${failed:-?}" "$([ "${failed:-1}" = 0 ] && echo PASS || echo FAIL)"

# A batching server (vLLM-like: up to 64 sequences, each slower the more
# share the batch): the learned limit against the best fixed one of a
# sweep (--endpoint-limit N holds N in flight).
B1=$(fake --slots 64 --batch-knee 8 --latency-ms 100)
best=0 best_n=0
for fixed in 8 16 32 48 64; do
	m=$((40 * SECS / 2))
	rm -rf "$W/cap" "$W/out"
	captions "$W/cap" "$m"
	t0=$(date +%s.%N)
	"$HY" prompts -i "$W/cap" -o "$W/out" --lang any --no-fsync -q --num_threads 256 \
		--endpoint-limit "$fixed" --endpoint "http://127.0.0.1:$B1" >"$W/log" 2>&1
	t1=$(date +%s.%N)
	r=$(python3 -c "print(int($m / ($t1 - $t0)))")
	echo "  batching server, fixed $fixed in flight: $r req/s"
	[ "$r" -gt "$best" ] && best=$r best_n=$fixed
done
n=$((best * SECS))
run_case "batching server, learned (best fixed: $best_n)" "$n" "$best" \
	--num_threads 256 --endpoint "http://127.0.0.1:$B1"

half=$((SECS / 2))
R=()
for _ in 1 2 3; do R+=("$(fake --slots 4 --latency-ms 200)"); done
R+=("$(fake --slots 4 --latency-ms 200 --die-after-ms $((half * 1000)))")
n=$((80 * half + 60 * (SECS - half)))
run_case "4 x 4 x 200 ms, one dies after ${half} s" "$n" "die:80:60:$half" \
	--endpoint "http://127.0.0.1:${R[0]}" --endpoint "http://127.0.0.1:${R[1]}" \
	--endpoint "http://127.0.0.1:${R[2]}" --endpoint "http://127.0.0.1:${R[3]}"

# One endpoint of four restarts: down for 60 s in the middle of the run.
# Nothing fails, and the others carry the load meanwhile.
O=()
for _ in 1 2 3; do O+=("$(fake --slots 4 --latency-ms 200)"); done
O+=("$(fake --slots 4 --latency-ms 200 --outage 20000:60000)")
n=$((80 * 100 - 20 * 60))
run_case "4 x 4 x 200 ms, one down 60 s at 20 s" "$n" "out:80:60:20:60" \
	--endpoint "http://127.0.0.1:${O[0]}" --endpoint "http://127.0.0.1:${O[1]}" \
	--endpoint "http://127.0.0.1:${O[2]}" --endpoint "http://127.0.0.1:${O[3]}"
printf '%-44s %6s failed  %s\n' "" "${failed:-?}" "$([ "${failed:-1}" = 0 ] && echo PASS || echo FAIL)"

# The client alone: one core for it, one for an instant server.
I=$(taskset -c 1 "$FAKE" --port 0 --port-file "$W/ip" --max-seconds 300 >/dev/null 2>&1 & pids+=($!); for _ in $(seq 100); do [ -s "$W/ip" ] && break; sleep 0.05; done; cat "$W/ip")
rm -rf "$W/cap" "$W/out"
captions "$W/cap" 100000
t0=$(date +%s.%N)
taskset -c 0 "$HY" prompts -i "$W/cap" -o "$W/out" --lang any --no-fsync -q \
	--endpoint "http://127.0.0.1:$I" --num_threads 64 >"$W/log" 2>&1 || tail -5 "$W/log"
t1=$(date +%s.%N)
python3 -c "
import sys; t=float(sys.argv[2])-float(sys.argv[1]); r=100000/t
print('%-44s %6d req in %6.2f s = %7.0f req/s; target >= 20000/s  %s' % ('client on one core, instant server', 100000, t, r, 'PASS' if r >= 20000 else 'FAIL'))" "$t0" "$t1"

# The language filter alone (no LLM): fastText lid.176 on one core.
rm -rf "$W/out"
t0=$(date +%s.%N)
taskset -c 0 "$HY" prompts -i "$W/cap" -o "$W/out" --api none --lang en --no-fsync -q >"$W/log" 2>&1 || tail -5 "$W/log"
t1=$(date +%s.%N)
python3 -c "
import sys; t=float(sys.argv[2])-float(sys.argv[1])
print('%-44s %6d captions in %6.2f s = %7.0f captions/s (load, filter, write)' % ('language filter (--api none), one core', 100000, t, 100000/t))" "$t0" "$t1"
