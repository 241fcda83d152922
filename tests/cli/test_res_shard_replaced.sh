#!/usr/bin/env bash
# An input shard replaced or truncated while it is being read. strace holds
# the reader's 300th read (pread64 or preadv2) for 1 s (shard 0 of 2000
# samples is then partly read) while the test either writes another shard
# to a temporary name and renames it over the input, or truncates the input
# in place.
# - Replaced: what a command writes is consistent with the old file or the
#   new one, never a mix. generate reads a shard twice (metadata, then the
#   photos to blur): a shard replaced in between must fail, not have one
#   file's face boxes applied to another file's photos.
# - Truncated: the shard fails with a message naming the file, the offset
#   and the truncation; exit 2; no output for it; the other shard is done.
# - run: a shard replaced mid-scan gives final shards that `verify` accepts
#   against the file now in place; stage files left from a run over the old
#   file (a replacement between runs, which no run can see) are caught by
#   verify's privacy check.
TEST_NAME=res_shard_replaced
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/res_lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
shopt -s nullglob dotglob
GEN_SHARDS=$ROOT/build/gen_shards
[ -x "$GEN_SHARDS" ] || { fail "build/gen_shards missing (make tools)"; finish; }
if ! command -v strace >/dev/null; then
	echo "ok - $TEST_NAME: all cases # SKIP strace not installed (needed to hold a read)"
	finish
fi
if ! strace -qq -o /dev/null -e trace=none -e inject=pread64,preadv2:delay_enter=1:when=1 true 2>strace.err; then
	echo "ok - $TEST_NAME: all cases # SKIP strace cannot inject delays here: $(head -c 200 strace.err)"
	finish
fi

GEN=(--image-api none --leftover blur)
OFF=(--api none --lang any --image-api none --leftover blur)
"$GEN_SHARDS" -o old --shards 2 --samples 2000 --small --face-ratio 0.02 >/dev/null 2>&1
"$GEN_SHARDS" -o other --shards 1 --samples 2000 --small --face-ratio 0.02 --seed 7 >/dev/null 2>&1
mkdir new
cp other/00000000.tar new/
cp old/00000001.tar new/
check "the replacement differs from the original" bash -c '! cmp -s old/00000000.tar new/00000000.tar'
for v in old new; do
	"$HY" scan $v -o ref_$v/captions -q >/dev/null
	"$HY" generate -s $v -o ref_$v/edits "${GEN[@]}" -q >/dev/null
	"$HY" reshard $v -o ref_$v/shards -q >/dev/null
	"$HY" run $v -w ref_$v/w "${OFF[@]}" -q >/dev/null
done

same() { # A B: same file or same tree
	if [ -d "$1" ]; then diff -r "$1" "$2" >/dev/null; else cmp -s "$1" "$2"; fi
}
# during_read ACTION ARGS...: runs the binary under strace, which holds its
# 300th read (in each thread) for 1 s; ACTION runs meanwhile. Sets
# rc. (LeakSanitizer cannot work under ptrace.)
during_read() {
	local act=$1 n=300 pid k seen
	shift
	rm -f st.log
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f --seccomp-bpf -qq -o st.log -e trace=pread64,preadv2 \
		-e inject=pread64,preadv2:delay_enter=1s:when=$n "$HY" "$@" >out.txt 2>err.txt &
	pid=$!
	for k in $(seq 1000); do
		seen=$(grep -cE 'pread(64|v2)' st.log 2>/dev/null)
		[ "${seen:-0}" -ge $((n - 1)) ] && break
		sleep 0.01
	done
	sleep 0.1
	eval "$act"
	wait "$pid"
	rc=$?
}
# fresh DIR: DIR/00000000.tar and DIR/00000001.tar, copies of old/, and
# the replacement written beside them under a temporary name.
fresh() { rm -rf "$1" && mkdir "$1" && cp old/*.tar "$1/" && cp other/00000000.tar "$1/.new.tmp"; }
REPLACE='mv in/.new.tmp in/00000000.tar'
TRUNCATE='truncate -s 100000 in/00000000.tar'
TRUNC_MSG='in/00000000\.tar: offset [0-9]+: .*([Tt]runcated|truncated)'

# --- scan and reshard: one pass over the file they opened ------------------
for cmd in scan reshard; do
	case $cmd in scan) out=captions f=00000000.json g=00000001.json ;; reshard) out=shards f=00000000.tar g=00000001.tar ;; esac

	fresh in
	during_read "$REPLACE" $cmd in -o o/$out -j 1 -q
	expect_rc 0 "$cmd: shard replaced mid-read"
	check "$cmd: output is the old file's or the new file's, not a mix" \
		bash -c "cmp -s o/$out/$f ref_old/$out/$f || cmp -s o/$out/$f ref_new/$out/$f"
	check "$cmd: the other shard is done" same o/$out/$g ref_old/$out/$g
	rm -rf o

	fresh in
	during_read "$TRUNCATE" $cmd in -o o/$out -j 1 -q
	expect_rc 2 "$cmd: shard truncated mid-read"
	expect_err "$TRUNC_MSG" "$cmd: message names the file, the offset and the truncation"
	check "$cmd: no output for the truncated shard" test ! -e o/$out/$f
	check "$cmd: the other shard is done" same o/$out/$g ref_old/$out/$g
	check "$cmd: no temporary left" no_temporaries o
	cp old/00000000.tar in/
	run_hy $cmd in -o o/$out -j 1 -q
	expect_rc 0 "$cmd: re-run with the shard restored"
	check "$cmd: re-run equals a clean run" same o/$out ref_old/$out
	rm -rf o
done

# --- generate: two passes over the shard -------------------------------------
fresh in
during_read "$REPLACE" generate -s in -o o/edits "${GEN[@]}" -j 1 -q
expect_rc 2 "generate: shard replaced between its two passes"
expect_err "in/00000000\.tar: changed while being read" "generate: message names the shard and says it changed"
check "generate: no edits for it (never one file's boxes on the other's photos)" test ! -e o/edits/00000000
check "generate: the other shard is done" same o/edits/00000001 ref_old/edits/00000001
check "generate: no temporary file left" no_temporaries o
run_hy generate -s in -o o/edits "${GEN[@]}" -j 1 -q
expect_rc 0 "generate: re-run"
check "generate: re-run equals a clean run over the new file" same o/edits/00000000 ref_new/edits/00000000
rm -rf o

fresh in
during_read "$TRUNCATE" generate -s in -o o/edits "${GEN[@]}" -j 1 -q
expect_rc 2 "generate: shard truncated mid-read"
expect_err "$TRUNC_MSG" "generate: message names the file, the offset and the truncation"
check "generate: no edits for the truncated shard" test ! -e o/edits/00000000
check "generate: the other shard is done" same o/edits/00000001 ref_old/edits/00000001
cp old/00000000.tar in/
run_hy generate -s in -o o/edits "${GEN[@]}" -j 1 -q
expect_rc 0 "generate: re-run with the shard restored"
check "generate: re-run equals a clean run" same o/edits ref_old/edits
rm -rf o

# --- run, then verify ------------------------------------------------------------
fresh in
during_read "$TRUNCATE" run in -w w "${OFF[@]}" -j 1 -q
expect_rc 2 "run: shard truncated mid-scan"
expect_err "$TRUNC_MSG" "run: message names the file, the offset and the truncation"
check "run: no stage file or final shard for it" \
	test -z "$(find w -name '00000000*' -o -name '.00000000*' | grep -v '^w/.hybridize')"
check "run: the other shard is done" same w/shards/00000001.tar ref_old/w/shards/00000001.tar
cp old/00000000.tar in/
run_hy run in -w w "${OFF[@]}" -j 1 -q
expect_rc 0 "run: re-run with the shard restored"
check "run: re-run equals a clean run" diff -r -x .hybridize w ref_old/w
rm -rf w

fresh in
during_read "$REPLACE" run in -w w "${OFF[@]}" -j 1 -q
check "run: shard replaced mid-scan: exit 0 or 2 (got $rc)" test "$rc" = 0 -o "$rc" = 2
run_hy verify in -e w/edits -o w/shards -q
if [ -e w/shards/00000000.tar ]; then
	expect_rc 0 "run: verify accepts the final shard against the file now in place"
else
	expect_rc 2 "run: verify reports the missing final shard"
fi
rm -rf w

# Replaced between two runs: the first run's stage files do not match the
# new file, which no run can tell; verify's privacy check does.
fresh in
run_hy run in -w w "${OFF[@]}" -q
rm w/shards/00000000.tar
cp other/00000000.tar in/00000000.tar
run_hy run in -w w "${OFF[@]}" -q
run_hy verify in -e w/edits -o w/shards -q
expect_rc 2 "verify: final shard made from stale stage files is rejected"
expect_err "w/shards/00000000\.tar: sample '[0-9]+': face sample still carries its original photo" \
	"verify: names the shard, the sample and the leak"
finish
