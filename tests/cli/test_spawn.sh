#!/usr/bin/env bash
# prompts --spawn: servers started by us, one per GPU, each told its port
# and GPU, waited for, used, and stopped at the end, on errors and on
# signals; a server that dies or never answers is named with its status
# and log; GPUs come from CUDA_VISIBLE_DEVICES.
TEST_NAME=spawn
. "$(dirname "$0")/lib.sh"
HOSTS=$(hostname); HOSTS=${HOSTS%%.*}
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
unset CUDA_VISIBLE_DEVICES

FAKE=${FAKE_LLM:-$ROOT/build/fake_llm}
[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
# Spawned servers run as $T/fake_llm, so that pgrep -f finds ours only.
ln -s "$FAKE" "$T/fake_llm"
SPAWNED="$T/fake_llm"
ref_pid=
trap 'kill $ref_pid 2>/dev/null; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

# left PATTERN: true while a process whose command line matches is alive.
left() { pgrep -f -- "$1" >/dev/null; }
# gone_within S PATTERN: waits up to S seconds for the processes to go.
gone_within() {
	local i
	for i in $(seq $(($1 * 20))); do left "$2" || return 0; sleep 0.05; done
	! left "$2"
}

mkdir -p cap
python3 - <<'PY'
import json
for s in range(2):
    d = {"%d%03d.json" % (s, i): "A person number %d reading in park %d" % (i, s) for i in range(40)}
    json.dump(d, open("cap/%08d.json" % s, "w"), indent=4)
PY

# --- reference: the same captions through a server we start by hand -------
"$FAKE" --port 0 --port-file "$T/ref.port" --max-seconds 120 >/dev/null 2>&1 &
ref_pid=$!
for _ in $(seq 100); do [ -s "$T/ref.port" ] && break; sleep 0.05; done
run_hy prompts -i cap -o ref --api ollama --lang any --endpoint "http://127.0.0.1:$(cat "$T/ref.port")" -q
expect_rc 0 "reference run against a server started by hand"

# --- two servers started by us ----------------------------------------------
run_hy prompts -i cap -o sp --api ollama --lang any --num_threads 8 \
	--spawn "$SPAWNED --port {port} --max-seconds 60 --latency-ms 5" --gpus 2 -q
expect_rc 0 "--spawn with --gpus 2"
for f in ref/*.json; do
	check "$(basename "$f") same as with a server started by hand" json_eq "$f" "sp/$(basename "$f")"
done
expect_err "LLM server 0 on GPU 0 ready at http://127\.0\.0\.1:[0-9]+ \([0-9.]+ s\)" "server 0 ready line"
expect_err "LLM server 1 on GPU 1 ready at http://127\.0\.0\.1:[0-9]+" "server 1 ready line"
for i in 0 1; do
	# fake_llm's last line at exit is its /stats JSON.
	check "server $i got requests" python3 -c '
import json, sys
st = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sys.exit(0 if st["llm_requests"] > 0 else 1)' "sp/.server-$HOSTS-$i.log"
	check "server $i was stopped by SIGTERM" grep -q "exiting: SIGTERM" "sp/.server-$HOSTS-$i.log"
done
check "no spawned server left" gone_within 1 "$SPAWNED"
check "the log is hidden from the output listing" test "$(ls sp | grep -c server)" = 0
run_hy prompts -i cap -o sp --api ollama --lang any --spawn "$SPAWNED --port {port}" --gpus 2 -q
expect_rc 0 "re-run with every file done"
check "nothing to do: no server started" test "$(grep -c '^==== hybridize' sp/.server-$HOSTS-0.log)" = 1

# --- servers that die or never answer --------------------------------------
run_hy prompts -i cap -o f1 --lang any --spawn 'false {port}' -q
expect_rc 1 "a server that exits at once"
expect_err 'LLM server 0 \(`false \{port\}`\) exited with status 1 before it was ready' "the dead server is named with its status"
run_hy prompts -i cap -o f2 --lang any --spawn 'echo "model file missing" >&2; exit 3 # {port}' --gpus 2 -q
expect_rc 1 "a server that fails with a message"
expect_err "exited with status 3 before it was ready; last lines of f2/\.server-$HOSTS-[01]\.log:" "the dead server's log is named"
expect_err "^    model file missing" "the end of its log is quoted"
check "no output for a run whose servers never came up" bash -c '! ls f2/*.json 2>/dev/null'

nap="30.$RANDOM$RANDOM" # `sleep $nap` is ours alone
start=$(date +%s)
run_hy prompts -i cap -o f3 --lang any --spawn "sleep $nap # {port}" --spawn-timeout 2 -q
took=$(($(date +%s) - start))
expect_rc 1 "a server that never answers"
expect_err "LLM server 0 .* not ready after 2 s; server 0: GET http://127\.0\.0\.1:[0-9]+/api/version" "the silent server is named with its URL"
check "gave up within a few seconds (${took} s)" test "$took" -le 6
check "the silent server was killed" gone_within 1 "sleep $nap"

run_hy prompts -i cap -o f4 --lang any --spawn "$SPAWNED --port 11434" -q
expect_rc 1 "a command without {port}"
expect_err "has no \{port\}" "the missing {port} is named"
check "nothing started without {port}" test ! -e f4/.server-$HOSTS-0.log

# --- options that do not go together ------------------------------------------
run_hy prompts -i cap -o u1 --lang any --spawn "$SPAWNED --port {port}" --endpoint http://127.0.0.1:1 -q
expect_rc 1 "--spawn with --endpoint"
expect_err "--spawn.*--endpoint" "the clash is named"
run_hy prompts -i cap -o u2 --lang any --spawn "$SPAWNED --port {port}" --api none -q
expect_rc 1 "--spawn with --api none"
run_hy prompts -i cap -o u3 --lang any --gpus 2 -q
expect_rc 1 "--gpus without --spawn"
check "no server started by a usage error" bash -c '! ls -a u1 u2 u3 2>/dev/null | grep -q server'

# --- GPUs from CUDA_VISIBLE_DEVICES --------------------------------------------
cat >"$T/gpu_server.sh" <<EOF
#!/bin/sh
echo "\$CUDA_VISIBLE_DEVICES" >"$T/gpu-\$2.env"
exec "$SPAWNED" --port "\$1" --max-seconds 60
EOF
chmod +x "$T/gpu_server.sh"
CUDA_VISIBLE_DEVICES=3,5 run_hy prompts -i cap -o g1 --lang any --spawn "$T/gpu_server.sh {port} {gpu}" --gpus 2 -q
expect_rc 0 "CUDA_VISIBLE_DEVICES=3,5 --gpus 2"
check "server on GPU 3 saw CUDA_VISIBLE_DEVICES=3" test "$(cat "$T/gpu-3.env" 2>/dev/null)" = 3
check "server on GPU 5 saw CUDA_VISIBLE_DEVICES=5" test "$(cat "$T/gpu-5.env" 2>/dev/null)" = 5
expect_err "LLM server 1 on GPU 5 ready" "the ready line names the GPU"
rm -f "$T"/gpu-*.env
CUDA_VISIBLE_DEVICES=GPU-0a1b,GPU-2c3d run_hy prompts -i cap -o g2 --lang any --spawn "$T/gpu_server.sh {port} {gpu}" -q
expect_rc 0 "one server per listed GPU by default (UUIDs)"
check "both UUIDs got a server" test "$(cat "$T/gpu-GPU-0a1b.env" "$T/gpu-GPU-2c3d.env" 2>/dev/null | tr '\n' ' ')" = "GPU-0a1b GPU-2c3d "
CUDA_VISIBLE_DEVICES=0,1 run_hy prompts -i cap -o g3 --lang any --spawn "$SPAWNED --port {port}" --gpus 3 -q
expect_rc 1 "--gpus 3 with two visible GPUs"
expect_err "3 LLM servers asked for.*CUDA_VISIBLE_DEVICES='0,1' lists 2 GPUs" "the shortfall is named"
CUDA_VISIBLE_DEVICES=-1 run_hy prompts -i cap -o g4 --lang any --spawn "$SPAWNED --port {port}" -q
expect_rc 1 "CUDA_VISIBLE_DEVICES=-1: no GPU"
expect_err "no GPU is visible" "no GPU: said so"
SLURM_GPUS_ON_NODE=3 run_hy prompts -i cap -o g5 --lang any --spawn "$SPAWNED --port {port} --max-seconds 60" -q
expect_rc 0 "SLURM_GPUS_ON_NODE=3"
expect_err "LLM server 2 on GPU 2 ready" "one server per GPU of SLURM_GPUS_ON_NODE"

# --- signals -------------------------------------------------------------------
nap2="31.$RANDOM$RANDOM"
"$HY" prompts -i cap -o s1 --lang any --spawn "sleep $nap2 # {port}" --gpus 2 -q >/dev/null 2>s1.err &
victim=$!
for _ in $(seq 100); do [ "$(pgrep -fc "^sleep $nap2")" = 2 ] && break; sleep 0.05; done
check "both servers running before SIGTERM" test "$(pgrep -fc "^sleep $nap2")" = 2
kill -TERM $victim
wait $victim
rc=$?
check "SIGTERM while waiting for readiness: exit 143 (got $rc)" test "$rc" = 143
check "SIGTERM: the servers are gone" gone_within 1 "sleep $nap2"

# Killed outright, we cannot stop them: their guardian does.
"$HY" prompts -i cap -o s2 --lang any --spawn "$SPAWNED --port {port} --max-seconds 60 --latency-ms 200 --slots 1" --gpus 2 -q >/dev/null 2>&1 &
victim=$!
for _ in $(seq 100); do grep -qs listening s2/.server-$HOSTS-1.log && grep -qs listening s2/.server-$HOSTS-0.log && break; sleep 0.05; done
sleep 0.3
kill -KILL $victim
wait $victim 2>/dev/null
check "SIGKILL: the servers are gone within the grace period" gone_within 3 "^$SPAWNED"
check "SIGKILL: they were sent SIGTERM" grep -q "exiting: SIGTERM" s2/.server-$HOSTS-0.log

finish
