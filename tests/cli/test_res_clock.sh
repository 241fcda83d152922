#!/usr/bin/env bash
# The wall clock jumps: timeouts, retry back-off and progress run on
# CLOCK_MONOTONIC, so a run whose wall clock is far in the past, or jumps a
# year forward and then two back in the middle of requests, finishes like
# any other: exit 0, no request timed out early (no retry at all against a
# healthy server), the same outputs as a clean run, a sane summary time and
# progress lines at their interval. libfaketime (Debian package faketime)
# fakes the wall clock only (FAKETIME_DONT_FAKE_MONOTONIC=1), as NTP or an
# administrator would move it; the fake servers keep the real clock.
TEST_NAME=res_clock
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }

LIB=
for l in $(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$') \
	/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1; do
	[ -f "$l" ] && LIB=$l && break
done
if [ -z "$LIB" ]; then
	echo "ok - $TEST_NAME: all cases # SKIP libfaketime not installed (Debian package faketime; scripts/setup.sh installs it)"
	finish
fi
# ASan wants its runtime first among the libraries; libfaketime is preloaded.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0
# Only the wall clock moves. Two libfaketime features would fake more than
# a real clock jump does: its "monotonic fix" (on by default with glibc)
# rewrites the deadline of every pthread_cond_timedwait by the fake offset,
# CLOCK_MONOTONIC ones included, so that a jump turns a 1 s wait into a
# busy loop or a two-year sleep; and it shifts the mtime that stat() returns
# by the offset, which the kernel never does (generate compares a shard's
# mtime between its two passes).
export FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_FORCE_MONOTONIC_FIX=0 NO_FAKE_STAT=1
if [ "$(LD_PRELOAD=$LIB FAKETIME='@2000-01-01 00:00:00' date -u +%Y)" != 2000 ]; then
	echo "ok - $TEST_NAME: all cases # SKIP libfaketime does not take effect here"
	finish
fi

# 12 prompts and 48 images over 2 slots of 150 ms: ~4 s; a request waits
# at most ~1 s, well within its 3 s timeout.
start_fake OK --slots 2 --latency-ms 150
start_fake BAD --slots 4 --latency-ms 50 --fault 503:0.1 --seed 5
on() { echo --endpoint "http://127.0.0.1:$1" --lang any --image-endpoint "http://127.0.0.1:$1" --timeout 3 --image-timeout 3; }
# shellcheck disable=SC2207 # URLs have no spaces
ON_OK=($(on "$OK")) ON_BAD=($(on "$BAD"))

run_hy run "$SHARDS" -w ref "${ON_OK[@]}" -q
expect_rc 0 "clean run, real clock"

summary_secs() { sed -n 's/^hybridize run: .* in \([0-9.]*\) s$/\1/p' out.txt; }
summary_value() { awk -v k="$1" '$0 ~ "^ *"k" " { print $NF; exit }' out.txt; }
json_num() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"; }
# sane_time WALL: the summary's time is positive and within the wall time.
sane_time() { python3 -c 'import sys; s=float(sys.argv[1]); sys.exit(0 if 0 < s <= float(sys.argv[2]) + 1 else 1)' "$(summary_secs)" "$1"; }

# --- wall clock far in the past, requests failing now and then --------------
t0=$(date +%s.%N)
LD_PRELOAD=$LIB FAKETIME='@2000-01-01 00:00:00' "$HY" run "$SHARDS" -w past "${ON_BAD[@]}" -q >out.txt 2>err.txt
rc=$?
wall=$(echo "$(date +%s.%N) - $t0" | bc)
expect_rc 0 "run with the wall clock in 2000, 503s from the server"
started=$(json_num past/.hybridize/progress-0.json started)
check "the faked clock reached the process (progress file started in 2000: $started)" \
	test "$started" -ge 946684800 -a "$started" -lt 946771200
check "retries happened (the back-off was exercised): $(summary_value retries)" test "$(summary_value retries)" -gt 0
check "summary time is sane ($(summary_secs) s of $wall s)" sane_time "$wall"
check "outputs equal the clean run's" diff -r -x .hybridize ref past

# --- the wall clock jumps a year forward, then two back, mid-run -------------
echo "+0" >clock
(sleep 1.2 && echo "+1y" >clock.tmp && mv clock.tmp clock && sleep 1.2 && echo "-2y" >clock.tmp && mv clock.tmp clock) &
jumper=$!
t0=$(date +%s.%N)
LD_PRELOAD=$LIB FAKETIME_TIMESTAMP_FILE=$T/clock FAKETIME_NO_CACHE=1 \
	"$HY" run "$SHARDS" -w jump "${ON_OK[@]}" --progress-interval 1 >out.txt 2>err.txt
rc=$?
wall=$(echo "$(date +%s.%N) - $t0" | bc)
wait "$jumper"
expect_rc 0 "run with the wall clock jumping +1y then -2y"
started=$(json_num jump/.hybridize/progress-0.json started)
updated=$(json_num jump/.hybridize/progress-0.json updated)
check "the jumps reached the process (last update $(((started - updated) / 86400)) days before the start)" \
	test $((started - updated)) -gt $((300 * 86400))
check "the run outlasted both jumps ($wall s)" python3 -c "import sys; sys.exit(0 if $wall > 2.6 else 1)"
check "no request timed out or was retried (retries $(summary_value retries))" \
	bash -c '[ "$(awk "/^  retries / {print \$NF}" out.txt)" = 0 ] && ! grep -qi "timed\? \?out" err.txt'
check "summary time is sane ($(summary_secs) s of $wall s)" sane_time "$wall"
n=$(grep -c '^run: [0-9]*/3 shards' err.txt)
check "progress lines at their interval ($n lines in $wall s)" \
	python3 -c "import sys; sys.exit(0 if 1 <= $n <= $wall + 2 else 1)"
check "progress lines sane (no negative figure, no ETA in hours)" \
	bash -c '! grep "^run: " err.txt | grep -Eq -- "-[0-9]|ETA [0-9]+h"'
check "outputs equal the clean run's" diff -r -x .hybridize ref jump
finish
