#!/usr/bin/env bash
# SIGTERM / SIGINT during reshard: the tool stops cleanly with exit 143 /
# 130, leaves no .part file, and every output present is complete (equal to
# its input); a re-run finishes the rest and all outputs are byte-identical
# to those of an uninterrupted run. To hit the run mid-work
# deterministically, the process is frozen (SIGSTOP) as soon as its first
# temporary output appears, then gets the signal and SIGCONT.
TEST_NAME=signals
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
shopt -s nullglob dotglob

mkdir in
for i in 0 1 2 3; do tt gen "in/s$i.tar" 1500 20000 "$i" & done
wait
run_hy reshard in -o ref --no-fsync -j 1 -q
expect_rc 0 "uninterrupted reshard of 4 generated shards"

# interrupt SIG OUTDIR PATTERN [CMD ARGS...]: starts CMD (default: reshard
# in --no-fsync), stops it with SIG once a temporary output matching PATTERN
# exists (mid-work); sets rc.
interrupt() {
	local sig=$1 o=$2 pat=$3 pid k=0 parts t=0 st=R
	shift 3
	[ $# -gt 0 ] || set -- reshard in --no-fsync
	set -m # a background job that does not ignore SIGINT
	"$HY" "$@" -o "$o" -j 1 -q >out.txt 2>err.txt &
	pid=$!
	set +m
	while :; do
		parts=("$o"/$pat)
		[ ${#parts[@]} -gt 0 ] && break
		k=$((k + 1))
		if [ $k -gt 200000 ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
	done
	kill -STOP "$pid" 2>/dev/null
	kill "-$sig" "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	# A tool that ignores the signal must not hang the suite: wait up to
	# 20 s for it to exit (become a zombie), then SIGKILL it. (No watchdog
	# subshell: one signalled right after fork may run our EXIT trap.)
	while [ "$st" != Z ] && [ $t -lt 2000 ]; do
		read -r _ _ st _ <"/proc/$pid/stat" 2>/dev/null || st=Z
		[ "$st" = Z ] || sleep 0.01
		t=$((t + 1))
	done
	[ "$st" = Z ] || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
}
complete_outputs() { # DIR: each NAME.tar present equals the reference
	local f
	for f in "$1"/*.tar; do
		cmp -s "$f" "ref/$(basename "$f")" || return 1
	done
}
for sig in TERM INT; do
	# SIGTERM while s1 or s2 is being written (s0 done, s3 to do);
	# SIGINT during the first shard.
	if [ $sig = TERM ]; then want=143 pat='.s[12].tar.part'; else
		want=130 pat='.*.part'; fi
	o=out-$sig
	interrupt "$sig" "$o" "$pat"
	expect_rc "$want" "reshard stopped by SIG$sig"
	check "SIG$sig: no .part file left" test -z "$(find "$o" -name '.*')"
	n=$(ls "$o" | wc -l)
	check "SIG$sig: stopped before finishing all 4 shards ($n done)" test "$n" -lt 4
	check "SIG$sig: every output present is complete (= uninterrupted run)" complete_outputs "$o"
	if [ $sig = TERM ]; then
		check "SIGTERM: s0.tar (finished before the signal) kept" test -e "$o/s0.tar"
		check "SIG$sig: s0.tar readable and equal to its input (Python)" tt eq "$o/s0.tar" in/s0.tar
	fi
	check "SIG$sig: summary says stopped" grep -q "stopped" out.txt
	run_hy reshard in -o "$o" --no-fsync -j 1 -q
	expect_rc 0 "SIG$sig: re-run finishes"
	check "SIG$sig: re-run outputs byte-identical to the uninterrupted run" diff -r "$o" ref
done

# extract stopped while unpacking its first shard: no DIR/NAME, no .NAME.part/.
interrupt TERM xout '.*.part' extract in/s0.tar in/s1.tar
expect_rc 143 "extract stopped by SIGTERM"
check "extract: no temporary folder left" test -z "$(find xout -name '.*')"
check "extract: no incomplete shard folder" test -z "$(ls xout)"
finish
