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
	t1=$(date +%s.%N)
	python3 - "$name" "$n" "$t0" "$t1" "$ideal" <<'PY'
import sys
name, n, t0, t1, ideal = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
t = t1 - t0
rate = n / t
# ideal: requests/s, or "die:R1:R2:T" = R1 until T seconds, then R2
if ideal.startswith("die:"):
    _, r1, r2, td = ideal.split(":")
    r1, r2, td = float(r1), float(r2), float(td)
    best = r1 * min(t, td) + r2 * max(0.0, t - td)
    frac = n / best
    ideal_txt = "%g/s, then %g/s after %gs" % (r1, r2, td)
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

Q=()
for ms in 100 200 400 800; do Q+=("$(fake --slots 4 --latency-ms $ms)"); done
n=$((75 * SECS))
run_case "4 x 4 slots, 100/200/400/800 ms" "$n" 75 \
	--endpoint "http://127.0.0.1:${Q[0]}" --endpoint "http://127.0.0.1:${Q[1]}" \
	--endpoint "http://127.0.0.1:${Q[2]}" --endpoint "http://127.0.0.1:${Q[3]}"

half=$((SECS / 2))
R=()
for _ in 1 2 3; do R+=("$(fake --slots 4 --latency-ms 200)"); done
R+=("$(fake --slots 4 --latency-ms 200 --die-after-ms $((half * 1000)))")
n=$((80 * half + 60 * (SECS - half)))
run_case "4 x 4 x 200 ms, one dies after ${half} s" "$n" "die:80:60:$half" \
	--endpoint "http://127.0.0.1:${R[0]}" --endpoint "http://127.0.0.1:${R[1]}" \
	--endpoint "http://127.0.0.1:${R[2]}" --endpoint "http://127.0.0.1:${R[3]}"

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
