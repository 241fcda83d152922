#!/usr/bin/env bash
# Reading shards that are not in the page cache: a read that misses asks
# the kernel to read ahead (posix_fadvise WILLNEED), so scan and reshard
# stream a cold shard instead of fetching it page by page (src/util/infile.h).
# Whatever the file system answers (no RWF_NOWAIT, every read a miss, the
# advice refused), scan and reshard write the same outputs.
TEST_NAME=cold_reads
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done

mkdir -p in
cp "$SHARDS"/0000000[01].tar in/
run_hy scan in -o ref/captions --min-faces 1 -q
expect_rc 0 "scan, warm"
run_hy reshard in -o ref/shards -q
expect_rc 0 "reshard, warm"

if ! command -v strace >/dev/null; then
	echo "ok - $TEST_NAME: reads under strace # SKIP strace not installed"
	finish
fi
# LeakSanitizer cannot run under ptrace: leaks are checked on the runs above.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0

# drop_cache FILE...: the files' pages leave the page cache: written out
# first (sync FILE fsyncs it), clean pages go on POSIX_FADV_DONTNEED, which
# dd's nocache flag gives.
drop_cache() {
	local f
	sync "$@"
	for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done
}
drop_cache in/*.tar
if command -v fincore >/dev/null && [ "$(fincore -n -o RES -b in/00000000.tar | tr -d ' ')" = 0 ]; then
	strace -f -qq -o trace.txt -e trace=fadvise64 "$HY" scan in -o cold/captions --min-faces 1 -q >/dev/null 2>&1
	check "scan of a cold shard asks the kernel to read ahead" grep -q 'POSIX_FADV_WILLNEED' trace.txt
	check "scan of a cold shard: same captions" diff -r ref/captions cold/captions
	drop_cache in/*.tar
	strace -f -qq -o trace.txt -e trace=fadvise64 "$HY" reshard in -o cold/shards -q >/dev/null 2>&1
	check "reshard of a cold shard asks the kernel to read ahead" grep -q 'POSIX_FADV_WILLNEED' trace.txt
	check "reshard of a cold shard: same shards" diff -r ref/shards cold/shards
else
	echo "ok - $TEST_NAME: cold shard # SKIP no fincore, or this file system keeps the pages"
fi

# traced NAME INJECT: scan and reshard with strace injecting INJECT.
traced() {
	local name=$1 inject=$2
	strace -f -qq -o /dev/null -e trace=preadv2,fadvise64 -e inject="$inject" \
		"$HY" scan in -o "$name/captions" --min-faces 1 -q >out.txt 2>err.txt
	rc=$?
	expect_rc 0 "scan when $name"
	check "scan when $name: same captions" diff -r ref/captions "$name/captions"
	strace -f -qq -o /dev/null -e trace=preadv2,fadvise64 -e inject="$inject" \
		"$HY" reshard in -o "$name/shards" -q >out.txt 2>err.txt
	rc=$?
	expect_rc 0 "reshard when $name"
	check "reshard when $name: same shards" diff -r ref/shards "$name/shards"
}
traced every-read-misses preadv2:error=EAGAIN
traced no-nowait-reads preadv2:error=EOPNOTSUPP
traced advice-refused fadvise64:error=EINVAL
drop_cache in/*.tar
traced cold-advice-refused fadvise64:error=EINVAL
finish
