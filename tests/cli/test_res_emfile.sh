#!/usr/bin/env bash
# Out of file descriptors (ulimit -n): scan and reshard with -j 8 on 16
# shards, prompts and generate with 20 endpoints and 64 requests in flight.
# Each either finishes or stops with exit 2 and a "Too many open files"
# that names what it was opening (a shard, an output, a server), leaving
# nothing incomplete under a final name and no temporary file; never a
# crash or a hang (timeout 120). A re-run with the normal limit finishes
# with outputs equal to a clean run's.
TEST_NAME=res_emfile
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/res_lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
shopt -s nullglob dotglob
[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
GEN_SHARDS=$ROOT/build/gen_shards
[ -x "$GEN_SHARDS" ] || { fail "build/gen_shards missing (make tools)"; finish; }

"$GEN_SHARDS" -o many --shards 16 --samples 100 --small >/dev/null 2>&1
EP=() IEP=()
for i in $(seq 20); do
	start_fake port --slots 4 --latency-ms 20
	EP+=(--endpoint "http://127.0.0.1:$port")
	IEP+=(--image-endpoint "http://127.0.0.1:$port")
done

# Every dot file aside here, not only .hybridize.
same_tree() { diff -r -x '.*' "$1" "$2" >/dev/null; }

# Clean runs with the normal limit.
"$HY" scan many -o ref/captions -q >/dev/null
"$HY" prompts -i ref/captions -o ref/prompts "${EP[@]}" --lang any -q >/dev/null 2>&1
"$HY" generate -p ref/prompts -s many -o ref/edits "${IEP[@]}" -q >/dev/null 2>&1
"$HY" reshard many -e ref/edits -o ref/shards -q >/dev/null
check "clean runs made 16 final shards" test "$(ls ref/shards | wc -l)" = 16

# run_nofile N ARGS...: the binary with at most N open files, 120 s at most.
run_nofile() {
	local n=$1
	shift
	(ulimit -n "$n" && exec timeout 120 "$HY" "$@") >out.txt 2>err.txt
	rc=$?
}
# judge WHAT LIMIT REF DIR ARGS...: runs ARGS under LIMIT open files into
# DIR, checks the outcome, then re-runs ARGS with the normal limit.
judge() {
	local what=$1 n=$2 ref=$3 dir=$4
	shift 4
	run_nofile "$n" "$@"
	case "$1" in scan | reshard) check "$what: healthy shards not counted as failed" few_failed ;; esac
	case $rc in
	0) ok "$what, ulimit -n $n: finished anyway" ;;
	2)
		ok "$what, ulimit -n $n: stopped (exit 2)"
		# Which open fails first varies: a shard, an edit or stage
		# file ('PATH' or PATH: first), a server.
		expect_err "('[^']+'|[^ ]+\.tar|[^ ]+/[^ ]+\.json|http://127\.0\.0\.1:[0-9]+): .*Too many open files" \
			"$what: message names what it was opening and says Too many open files"
		;;
	124) fail "$what, ulimit -n $n: hung (killed after 120 s)" ;;
	*) fail "$what, ulimit -n $n: exit $rc (crash?); stderr: $(head -c 600 err.txt)" ;;
	esac
	check "$what: outputs present are complete" complete_outputs "$ref" "$dir"
	check "$what: no temporary file left" no_temporaries "$dir"
	run_hy "$@"
	expect_rc 0 "$what: re-run with the normal limit"
	check "$what: re-run equals a clean run" same_tree "$ref" "$dir"
}

# Running out of descriptors is this process's trouble, not the shards':
# it stops the run rather than failing every shard left in the queue (at
# most the 8 in flight may fail).
few_failed() { [ "$(awk '/^ +failed +[0-9]+$/ { print $2; exit }' out.txt)" -le 8 ]; }
judge "scan -j 8" 12 ref/captions o/captions scan many -o o/captions -j 8 -q
judge "reshard -j 8" 12 ref/shards o/shards reshard many -e ref/edits -o o/shards -j 8 -q
judge "prompts, 20 endpoints x 64 in flight" 32 ref/prompts o/prompts \
	prompts -i ref/captions -o o/prompts "${EP[@]}" --lang any --num_threads 64 -q
judge "generate, 20 endpoints x 64 in flight, -j 8" 32 ref/edits o/edits \
	generate -p ref/prompts -s many -o o/edits "${IEP[@]}" --image-threads 64 -j 8 -q
judge "run, 20 endpoints x 64 in flight, -j 8" 32 ref/shards w/shards \
	run many -w w "${EP[@]}" "${IEP[@]}" --lang any --num_threads 64 --image-threads 64 -j 8 -q
check "run: stage files equal the separate stages'" bash -c 'for d in captions prompts edits; do diff -r -x ".*" ref/$d w/$d >/dev/null || exit 1; done'

# Sockets alone run out: the failed requests say why, not just "Couldn't
# connect" (one captions file, 64 requests in flight, 6 descriptors).
mkdir -p one/captions
cp ref/captions/00000000.json one/captions/
run_nofile 6 prompts -i one/captions -o one/prompts "${EP[@]}" --lang any --num_threads 64 --retries 0 -q
check "prompts out of sockets: exit 2 (got $rc)" test "$rc" = 2
expect_err "http://127\.0\.0\.1:[0-9]+: .*\(Too many open files\)" "prompts: a failed request names the server and says Too many open files"
finish
