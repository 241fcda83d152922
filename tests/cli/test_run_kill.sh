#!/usr/bin/env bash
# Kill safety of `run`: SIGKILL at 19 moments spread over the whole job
# (and SIGTERM once, which must exit 143), re-run until done: the final
# shards, and every stage file, are byte-identical to an uninterrupted run,
# and no temporary file is left. The servers are the fake LLM + image
# server with latency, so kills land inside every stage: mid-scan,
# mid-journal, mid-.part, mid-reshard.
#
# Each kill is timed by the work's progress, not by the clock: the work
# done is the files the run has made (captions, prompts, journals, edits
# and their .part folders, shards) plus the answers its journals hold, and
# run i is killed once that count reaches a target, i/27 of the way
# through the job or so, and this run has made some of it. So every run
# is killed while working and with work left, however fast or loaded the
# machine (timing kills by a fraction of a reference run's wall time
# killed only 9 to 14 of 19 mid-work on a loaded machine).
TEST_NAME=run-kill
. "$(dirname "$0")/lib.sh"
FAKE_MAX_SECONDS=600

GEN=$ROOT/build/gen_shards
for b in "$FAKE" "$GEN"; do [ -x "$b" ] || { fail "$b missing (make tools)"; finish; }; done

"$GEN" -o src --shards 8 --samples 60 >/dev/null 2>&1
NSHARDS=8
start_fake P --slots 2 --latency-ms 60
ARGS=(src -q --no-fsync --lang any --endpoint "http://127.0.0.1:$P"
	--image-endpoint "http://127.0.0.1:$P" --leftover blur -j 2)

# progress DIR: sets done_ to the work done in DIR so far, as above (the
# status files of .hybridize/ are not work). A journal line is one answer;
# a prompts file replacing its journal makes the count drop a little,
# never by much. Bash builtins only, no find or wc: a poll costs a few ms
# even on a loaded machine, so a kill lands close to its target.
shopt -s nullglob dotglob globstar
progress() {
	local f lines
	done_=0
	for f in "$1"/**; do
		[ -f "$f" ] && done_=$((done_ + 1))
	done
	for f in "$1"/.hybridize/** "$1"/**/.server-*; do
		[ -f "$f" ] && done_=$((done_ - 1))
	done
	for f in "$1"/prompts/.*.journal; do
		mapfile -t lines <"$f" && done_=$((done_ + ${#lines[@]}))
	done
}

SECONDS=0
"$HY" run "${ARGS[@]}" -w ref >ref.out 2>&1
rc=$?
expect_rc 0 "uninterrupted run"
progress ref
total=$done_
echo "# uninterrupted run: $SECONDS s, $total files of work"
check "the uninterrupted run made its files" test "$total" -gt 100

# The killed runs talk to a server four times slower (outputs do not depend
# on the latency): fewer files are made between two polls, so a kill lands
# close to its target even when the polls are slowed down by a loaded
# machine.
start_fake P2 --slots 2 --latency-ms 240
ARGS=(src -q --no-fsync --lang any --endpoint "http://127.0.0.1:$P2"
	--image-endpoint "http://127.0.0.1:$P2" --leftover blur -j 2)

# kill_at I SIGNAL: starts run I, sends SIGNAL once the work done in w
# reaches run I's target and this run has added to it; sets st to the
# run's exit status, alive to 1 when the signal found it running, and at
# to the work done when it was sent.
RANDOM=20261207
kill_at() {
	local i=$1 sig=$2 target start pid k=0
	# Targets rise through the job by 1/27 of it a run, the last before
	# 20/27: a quarter of the job is margin for kills landing past their
	# targets, and is left for the final re-run.
	target=$((total * (i - 1) / 27 + RANDOM % (total / 27 + 1)))
	progress w
	start=$done_ at=$done_
	"$HY" run "${ARGS[@]}" -w w >>runs.out 2>&1 &
	pid=$!
	alive=0
	while kill -0 "$pid" 2>/dev/null; do
		progress w
		at=$done_
		if [ "$at" -ge "$target" ] && [ "$at" -gt "$start" ]; then
			kill -"$sig" "$pid" 2>/dev/null && alive=1
			break
		fi
		# 3000 polls (a minute or more) short of the target: the run is stuck.
		k=$((k + 1))
		[ $k -lt 3000 ] || { echo "run $i stuck at $at of $target" >>runs.out; kill -KILL "$pid"; break; }
		sleep 0.02
	done
	wait "$pid" 2>/dev/null
	st=$?
	echo "run $i: $sig at $at (target $target), exit $st" >>runs.out
}

# finished: the final shards w holds.
finished() { find w/shards -name '*.tar' 2>/dev/null | wc -l; }

mid=0 term_ok=0 ats=""
for i in $(seq 20); do
	if [ "$i" -eq 10 ]; then
		kill_at "$i" TERM
		[ "$alive" -eq 1 ] && [ "$st" -eq 143 ] && term_ok=1
		echo "SIGTERM -> exit $st" >>runs.out
	else
		kill_at "$i" KILL
		# Killed while running (exit 137), shards still to write.
		if [ "$alive" -eq 1 ] && [ "$st" -eq 137 ] && [ "$(finished)" -lt "$NSHARDS" ]; then
			mid=$((mid + 1))
		fi
	fi
	ats="$ats $at"
done
echo "# work done when each run was signalled (of $total):$ats"
check "SIGTERM mid-work exits 143" test "$term_ok" -eq 1
check "$mid of 19 runs killed with SIGKILL mid-work" test "$mid" -eq 19
left_work=$((NSHARDS - $(finished)))
check "$left_work of $NSHARDS shards left for the re-run" test "$left_work" -gt 0
done_ok=0
for _ in 1 2 3; do
	"$HY" run "${ARGS[@]}" -w w >final.out 2>&1 && { done_ok=1; break; }
done
check "a re-run finishes after the kills" test "$done_ok" -eq 1
check "final shards byte-identical to the uninterrupted run" diff -r ref/shards w/shards
check "stage files identical too (captions, prompts, edits)" diff -r -x .hybridize -x '.server-*' ref w
left=$(find w -name '*.part' -o -name '.*.part' -o -name '*.journal' -o -name '.*.tmp')
check "no temporary file left${left:+: $left}" test -z "$left"
[ "$_fails" -eq 0 ] || sed 's/^/# /' runs.out | grep '# run '
finish
