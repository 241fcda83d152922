#!/usr/bin/env bash
# bench/generate.sh: how close `hybridize generate` keeps text-to-image
# servers to their ideal throughput, against the fake server
# (tests/servers/fake_llm.c: a1111 API, fixed slots and latency per image,
# deterministic PNGs), with equal endpoints, mixed speeds and one endpoint
# dying; then the image work per core (bench/image_bench.c) and the offline
# blur path end to end.
# Run by `make bench`, or alone:
#   bash bench/generate.sh      (knob: GENERATE_SECONDS, default 30 per case)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
HY=build/hybridize
FAKE=build/fake_llm
SECS=${GENERATE_SECONDS:-30}
for b in "$HY" "$FAKE" build/gen_shards build/image_bench; do
	[ -x "$b" ] || { echo "bench: $b missing: run 'make all tools'" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/hy-bench-generate.XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

fake() {
	local pf
	pf=$(mktemp "$W/port.XXXXXX")
	rm -f "$pf"
	"$FAKE" --port 0 --port-file "$pf" --max-seconds 600 "$@" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	cat "$pf"
}

# Prompts for N face samples at least: shards of 500 samples, 30% faces,
# prompts = captions (no LLM), only the first N prompts kept.
data() {
	local n=$1 shards=$(( ($1 * 10 / 3 + 499) / 500 + 1 ))
	rm -rf "$W/src" "$W/cap" "$W/pr"
	build/gen_shards -o "$W/src" --shards "$shards" --samples 500 >/dev/null 2>&1
	"$HY" scan "$W/src" -o "$W/cap" -q >/dev/null
	"$HY" prompts -i "$W/cap" -o "$W/pr" --api none --lang any -q >/dev/null
	python3 - "$W/pr" "$n" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
left = n
for f in sorted(f for f in os.listdir(d) if not f.startswith(".")):
    p = os.path.join(d, f)
    kept = {k: v for k, v in json.load(open(p)).items() if v.strip()}
    kept = dict(list(kept.items())[:left])
    left -= len(kept)
    json.dump(kept, open(p, "w"), indent=4)
PY
}

# run_case NAME N IDEAL ENDPOINT_ARGS...: images/s against the ideal, over
# the prompts `data N` made (before the servers start: a server's
# --die-after-ms counts from its start).
run_case() {
	local name=$1 n=$2 ideal=$3 t0 t1
	shift 3
	rm -rf "$W/ed"
	t0=$(date +%s.%N)
	"$HY" generate -p "$W/pr" -s "$W/src" -o "$W/ed" --leftover keep \
		--no-fsync -q "$@" >"$W/log" 2>&1 ||
		{ echo "bench: $name: generate failed:"; tail -5 "$W/log"; }
	t1=$(date +%s.%N)
	made=$(awk '/synthetic images/ { print $NF; exit }' "$W/log")
	python3 - "$name" "${made:-0}" "$t0" "$t1" "$ideal" <<'PY'
import sys
name, n, t0, t1, ideal = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
t = t1 - t0
rate = n / t
if ideal.startswith("die:"):  # R1 images/s until T s, then R2
    _, r1, r2, td = ideal.split(":")
    r1, r2, td = float(r1), float(r2), float(td)
    frac = n / (r1 * min(t, td) + r2 * max(0.0, t - td))
    ideal_txt = "%g/s, then %g/s after %gs" % (r1, r2, td)
else:
    frac = rate / float(ideal)
    ideal_txt = "%s/s" % ideal
print("%-40s %5d images in %6.2f s = %6.2f/s; ideal %-22s %5.1f%%  %s"
      % (name, n, t, rate, ideal_txt, frac * 100, "PASS" if frac >= 0.95 else "FAIL"))
PY
}

echo "bench generate: fake a1111 servers on 127.0.0.1, $(nproc) cores, ${SECS} s per case"
data $((16 * SECS))
P=()
for _ in 1 2 3 4; do P+=("$(fake --slots 2 --latency-ms 500)"); done
run_case "4 endpoints x 2 slots x 500 ms" $((16 * SECS)) 16 \
	--image-endpoint "http://127.0.0.1:${P[0]}" --image-endpoint "http://127.0.0.1:${P[1]}" \
	--image-endpoint "http://127.0.0.1:${P[2]}" --image-endpoint "http://127.0.0.1:${P[3]}"

# 2 slots each at 250/500/750/1000 ms: 8 + 4 + 2.67 + 2 images/s.
data $((16 * SECS))
Q=()
for ms in 250 500 750 1000; do Q+=("$(fake --slots 2 --latency-ms $ms)"); done
run_case "4 x 2 slots, 250/500/750/1000 ms" $((16 * SECS)) 16.667 \
	--image-endpoint "http://127.0.0.1:${Q[0]}" --image-endpoint "http://127.0.0.1:${Q[1]}" \
	--image-endpoint "http://127.0.0.1:${Q[2]}" --image-endpoint "http://127.0.0.1:${Q[3]}"

half=$((SECS / 2))
data $((16 * half + 12 * (SECS - half)))
R=()
for _ in 1 2 3; do R+=("$(fake --slots 2 --latency-ms 500)"); done
R+=("$(fake --slots 2 --latency-ms 500 --die-after-ms $((half * 1000)))")
run_case "4 x 2 x 500 ms, one dies after ${half} s" $((16 * half + 12 * (SECS - half))) "die:16:12:$half" \
	--image-endpoint "http://127.0.0.1:${R[0]}" --image-endpoint "http://127.0.0.1:${R[1]}" \
	--image-endpoint "http://127.0.0.1:${R[2]}" --image-endpoint "http://127.0.0.1:${R[3]}"

echo
echo "bench generate: image work on one core (bench/image_bench.c)"
taskset -c 0 build/image_bench

echo
echo "bench generate: offline path (--image-api none --leftover blur), one core"
rm -rf "$W/src" "$W/ed"
build/gen_shards -o "$W/src" --shards 4 --samples 2000 >/dev/null 2>&1
t0=$(date +%s.%N)
taskset -c 0 "$HY" generate -s "$W/src" -o "$W/ed" --image-api none --leftover blur -j 1 --no-fsync -q >"$W/log" 2>&1 || tail -5 "$W/log"
t1=$(date +%s.%N)
blurred=$(awk '/ blurred/ { print $NF; exit }' "$W/log")
python3 -c "
import sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3])
print('%-40s %5d face samples in %6.2f s = %7.1f/s (read shard, blur, write)' % ('offline blur, end to end, one core', n, t, n/t))" "$t0" "$t1" "${blurred:-0}"
