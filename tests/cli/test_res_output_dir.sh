#!/usr/bin/env bash
# The output folder removed, or made read-only, in the middle of the work:
# `run` against a slow fake server while it generates (edits folder removed
# / bind-mounted read-only), and `reshard` while a shard is being written
# (strace holds one of its reads for 2 s; output folder removed / made
# read-only). Each time: exit 2, a message naming the path and the reason,
# nothing incomplete under a final name, no temporary file left, and a
# re-run after the folder is back finishes equal to a clean run.
#
# Root ignores permission bits, so "read-only" is a read-only bind mount of
# the folder onto itself; where the sandbox refuses mounts, chattr +i; where
# neither works, those cases are skipped (visibly).
TEST_NAME=res_output_dir
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/res_lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
shopt -s nullglob dotglob
[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }

RO_DIRS=()
trap 'undo_all_ro; stop_fakes; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

# make_ro DIR: makes DIR read-only for root too; sets RO_HOW (bind,
# chattr) or returns 1 with the reason in ro.err.
RO_HOW=
make_ro() {
	local d=$1
	if mount --bind "$d" "$d" 2>ro.err; then
		if mount -o remount,ro,bind "$d" 2>>ro.err; then
			RO_HOW=bind
			RO_DIRS+=("$d")
			return 0
		fi
		umount "$d"
	fi
	if command -v chattr >/dev/null && chattr +i "$d" 2>>ro.err; then
		RO_HOW=chattr
		RO_DIRS+=("$d")
		return 0
	fi
	return 1
}
undo_ro() {
	if [ "$RO_HOW" = bind ]; then umount "$1" 2>/dev/null || umount -l "$1"; else chattr -i "$1"; fi
}
undo_all_ro() {
	local d
	for d in "${RO_DIRS[@]}"; do undo_ro "$d" 2>/dev/null; done
	RO_DIRS=()
}
ro_reason() { [ "$RO_HOW" = bind ] && echo 'Read-only file system' || echo 'Operation not permitted'; }


# --- run: the edits folder goes away while images are being made -----------
# 48 images over 2 slots of 100 ms: generate takes ~2.5 s.
start_fake P --slots 2 --latency-ms 100
ON=(--endpoint "http://127.0.0.1:$P" --lang any --image-endpoint "http://127.0.0.1:$P" --timeout 30 --image-timeout 30)
run_hy run "$SHARDS" -w ref "${ON[@]}" -q
expect_rc 0 "clean run against the fake server"

# run_while_generating DIR ACTION: starts `run` into DIR and runs ACTION once
# a shard's edits are being written; sets rc.
run_while_generating() {
	local w=$1 act=$2 pid k parts
	"$HY" run "$SHARDS" -w "$w" "${ON[@]}" -q >out.txt 2>err.txt &
	pid=$!
	for k in $(seq 2000); do
		parts=("$w"/edits/.*.part/*.json)
		[ ${#parts[@]} -gt 0 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	eval "$act"
	wait "$pid"
	rc=$?
}

run_while_generating w1 'for k in 1 2 3 4 5; do rm -rf w1/edits 2>/dev/null && break; done'
expect_rc 2 "run: edits folder removed mid-run"
expect_err "w1/edits/[^ ]*'?: No such file or directory" "run: message names the path and the reason"
check "run: no final shard made" test -z "$(ls w1/shards)"
for d in captions prompts edits; do
	check "run: $d present are complete" complete_outputs ref/$d w1/$d
done
check "run: no temporary left" no_temporaries w1
run_hy run "$SHARDS" -w w1 "${ON[@]}" -q
expect_rc 0 "run re-run after the folder was removed"
check "run re-run equals a clean run" same_tree ref w1

mkdir -p w2/edits
if make_ro w2/edits; then
	RO_DIRS=() # undone below, by hand
	undo_ro w2/edits
	run_while_generating w2 'make_ro w2/edits'
	expect_rc 2 "run: edits folder made read-only mid-run ($RO_HOW)"
	expect_err "w2/edits/[^ ]*'?: $(ro_reason)" "run: message names the path and the reason"
	check "run: no final shard made" test -z "$(ls w2/shards)"
	undo_all_ro
	check "run: no temporary left" no_temporaries w2
	run_hy run "$SHARDS" -w w2 "${ON[@]}" -q
	expect_rc 0 "run re-run after the folder is writable again"
	check "run re-run equals a clean run" same_tree ref w2
else
	echo "ok - $TEST_NAME: run, read-only edits folder # SKIP neither a read-only bind mount nor chattr +i works here: $(head -c 200 ro.err)"
fi
stop_fakes

# --- reshard: the output folder goes away while a shard is written ----------
if ! command -v strace >/dev/null; then
	echo "ok - $TEST_NAME: reshard mid-shard # SKIP strace not installed"
	finish
fi
if ! strace -qq -o /dev/null -e trace=none -e inject=pread64,preadv2:delay_enter=1:when=1 true 2>strace.err; then
	echo "ok - $TEST_NAME: reshard mid-shard # SKIP strace cannot inject delays here: $(head -c 200 strace.err)"
	finish
fi
"$HY" reshard "$SHARDS" -o rs_ref -j 1 -q >/dev/null
# during_read N ACTION ARGS...: runs the binary under strace, which holds
# its Nth read (pread64 or preadv2) for 2 s; ACTION runs meanwhile. Sets rc. (LeakSanitizer
# cannot work under ptrace.)
during_read() {
	local n=$1 act=$2 pid k seen
	shift 2
	rm -f st.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -qq -o st.log -e trace=pread64,preadv2 \
		-e inject=pread64,preadv2:delay_enter=2s:when="$n" "$HY" "$@" >out.txt 2>err.txt &
	pid=$!
	for k in $(seq 1000); do
		seen=$(grep -cE 'pread(64|v2)' st.log 2>/dev/null)
		[ "${seen:-0}" -ge $((n - 1)) ] && break
		sleep 0.01
	done
	sleep 0.2
	eval "$act"
	wait "$pid"
	rc=$?
}
during_read 20 'rm -rf rs1' reshard "$SHARDS" -o rs1 -j 1 -q
expect_rc 2 "reshard: output folder removed mid-shard"
expect_err "rs1/\.?00000000\.tar(\.part)?'?[^ ]*: No such file or directory" "reshard: message names the path and the reason"
check "reshard: nothing left (the folder is gone)" test ! -e rs1
run_hy reshard "$SHARDS" -o rs1 -j 1 -q
expect_rc 0 "reshard re-run"
check "reshard re-run equals a clean run" same_tree rs_ref rs1

mkdir rs2
if make_ro rs2; then
	RO_DIRS=()
	undo_ro rs2
	during_read 20 'make_ro rs2' reshard "$SHARDS" -o rs2 -j 1 -q
	expect_rc 2 "reshard: output folder made read-only mid-shard ($RO_HOW)"
	expect_err "rs2/\.?00000000\.tar(\.part)?'?[^ ]*: $(ro_reason)" "reshard: message names the path and the reason"
	check "reshard: no final shard made" test -z "$(ls rs2)"
	undo_all_ro
	# The temporary could not be removed from a read-only folder: the
	# re-run overwrites it.
	run_hy reshard "$SHARDS" -o rs2 -j 1 -q
	expect_rc 0 "reshard re-run after the folder is writable again"
	check "reshard re-run equals a clean run" same_tree rs_ref rs2
	check "reshard: no temporary left after the re-run" no_temporaries rs2
else
	echo "ok - $TEST_NAME: reshard, read-only output folder # SKIP neither a read-only bind mount nor chattr +i works here: $(head -c 200 ro.err)"
fi
finish
