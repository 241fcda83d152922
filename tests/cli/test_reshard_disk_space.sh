#!/usr/bin/env bash
# reshard reserves its output's disk space ahead of the writes (fallocate,
# FALLOC_FL_KEEP_SIZE, sized by the input) and gives back what it did not
# use: an output much smaller than its input (every image replaced by a few
# bytes) and one larger than it (a .tar.gz input) hold no blocks past their
# end. A file system that refuses the reservation (no support, no space)
# still gets the same output.
TEST_NAME=reshard_disk_space
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done

S0=$SHARDS/00000000.tar

# no_blocks_past_end FILE: allocated bytes at most the size rounded up to
# the block size (plus one block of slack for file system metadata).
no_blocks_past_end() {
	local size alloc bs
	size=$(stat -c %s "$1")
	alloc=$(($(stat -c %b "$1") * $(stat -c %B "$1")))
	bs=$(stat -f -c %S "$1")
	[ "$alloc" -le $(((size + bs - 1) / bs * bs + bs)) ] ||
		{ echo "# $1: $size bytes, $alloc allocated" >&2; return 1; }
}

# Every image of shard 0 replaced by 10 bytes: the output is a fraction of
# the input, whose size was reserved.
mkdir -p edits/00000000
tar -tf "$S0" | grep '\.jpg$' | while read -r m; do printf 'tiny-image' >"edits/00000000/$m"; done
check "fixture: edits for the images made" test -n "$(ls edits/00000000)"
run_hy reshard "$S0" -e edits -o small -q
expect_rc 0 "reshard with shrinking edits"
check "output much smaller than the input" \
	test $(($(stat -c %s small/00000000.tar) * 4)) -lt "$(stat -c %s "$S0")"
check "shrunk output holds no blocks past its end" no_blocks_past_end small/00000000.tar

# A .tar.gz input: its size underestimates the output, which grows past the
# first reservation.
gzip -1 -c "$S0" >00000000.tar.gz
run_hy reshard "$S0" -o plain -q
run_hy reshard 00000000.tar.gz -o fromgz -q
expect_rc 0 "reshard of a .tar.gz"
check "output of the .tar.gz has the plain tar's members" \
	python3 "$ROOT/tests/cli/tartool.py" eq plain/00000000.tar fromgz/00000000.tar
check "output of the .tar.gz is larger than the input" \
	test "$(stat -c %s fromgz/00000000.tar)" -gt "$(stat -c %s 00000000.tar.gz)"
check "grown output holds no blocks past its end" no_blocks_past_end fromgz/00000000.tar
check "copied output holds no blocks past its end" no_blocks_past_end plain/00000000.tar

if ! command -v strace >/dev/null; then
	echo "ok - $TEST_NAME: reservation and its refusal # SKIP strace not installed"
	finish
fi
# LeakSanitizer cannot run under ptrace: leaks are checked on the runs above.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
strace -f -qq -o trace.txt -e trace=fallocate "$HY" reshard "$S0" -o traced -q >/dev/null 2>&1
check "the output's space is reserved (fallocate with FALLOC_FL_KEEP_SIZE)" \
	grep -q 'fallocate(.*FALLOC_FL_KEEP_SIZE' trace.txt
for e in EOPNOTSUPP ENOSPC; do
	strace -f -qq -o trace-$e.txt -e trace=fallocate,ftruncate -e inject=fallocate:error=$e \
		"$HY" reshard "$S0" -o refused-$e -q >out.txt 2>err.txt
	rc=$?
	expect_rc 0 "reshard when the file system refuses the reservation ($e)"
	check "output equals the reserved one ($e)" cmp -s plain/00000000.tar refused-$e/00000000.tar
done
# Refused for want of space, part may be reserved: given back. Not
# supported at all: nothing to give back.
check "after ENOSPC the reserved part is given back (ftruncate)" grep -q 'ftruncate(' trace-ENOSPC.txt
check "after EOPNOTSUPP nothing to give back (no ftruncate)" bash -c '! grep -q "ftruncate(" trace-EOPNOTSUPP.txt'
finish
