#!/usr/bin/env bash
# Work split: with --world W, ranks 0..W-1 get disjoint sets of shards
# whose union is the full set; SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT
# (else SLURM_PROCID/SLURM_NTASKS) give the same split by default; explicit
# flags win over the environment; rank >= world is a usage error (exit 1).
TEST_NAME=rank_split
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
outs() { ls "$1" 2>/dev/null | tr '\n' ' '; }

mkdir in
for i in 0 1 2 3 4 5 6; do ln -s "$SHARDS/0000000$((i % 3)).tar" "in/s$i.tar"; done
all="s0.json s1.json s2.json s3.json s4.json s5.json s6.json "

for w in 2 3; do
	for ((r = 0; r < w; r++)); do
		run_hy scan in -o "w$w/r$r" --rank "$r" --world "$w" -q
		expect_rc 0 "scan --rank $r --world $w"
	done
	check "world $w: ranks are disjoint" bash -c \
		'[ -z "$(ls "$0"/r* | grep json | sort | uniq -d)" ]' "w$w"
	check "world $w: union is the full set" test \
		"$(ls "w$w"/r* | grep json | sort | tr '\n' ' ')" = "$all"
	check "world $w: no rank is empty" bash -c \
		'for d in "$0"/r*; do [ -n "$(ls "$d")" ] || exit 1; done' "w$w"
done
check "world 2 split by position: rank 0 = s0 s2 s4 s6" test "$(outs w2/r0)" = "s0.json s2.json s4.json s6.json "

for r in 0 1; do
	SLURM_ARRAY_TASK_ID=$r SLURM_ARRAY_TASK_COUNT=2 run_hy scan in -o "arr/r$r" -q
	expect_rc 0 "scan with SLURM_ARRAY_TASK_ID=$r/COUNT=2"
	check "SLURM array task $r = --rank $r --world 2" test "$(outs "arr/r$r")" = "$(outs "w2/r$r")"
	SLURM_PROCID=$r SLURM_NTASKS=2 run_hy scan in -o "proc/r$r" -q
	expect_rc 0 "scan with SLURM_PROCID=$r/NTASKS=2"
	check "SLURM_PROCID $r = --rank $r --world 2" test "$(outs "proc/r$r")" = "$(outs "w2/r$r")"
	# The array variables win over PROCID/NTASKS (a 1-task array job step).
	SLURM_ARRAY_TASK_ID=$r SLURM_ARRAY_TASK_COUNT=3 SLURM_PROCID=0 SLURM_NTASKS=1 \
		run_hy scan in -o "both/r$r" -q
	check "array vars win over PROCID/NTASKS (rank $r of 3)" test "$(outs "both/r$r")" = "$(outs "w3/r$r")"
done
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 run_hy scan in -o flags --rank 0 --world 3 -q
check "explicit --rank/--world win over SLURM" test "$(outs flags)" = "$(outs w3/r0)"
run_hy scan in -o none -q
check "no SLURM, no flags: everything" test "$(outs none)" = "$all"

run_hy scan in -o bad --rank 2 --world 2 -q
expect_rc 1 "--rank 2 --world 2"
expect_err "rank" "message about the rank"
check "nothing started" test ! -e bad
run_hy scan in -o bad --rank 5 --world 3 -q
expect_rc 1 "--rank 5 --world 3"
run_hy scan in -o bad --world 0 -q
expect_rc 1 "--world 0"
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=2 run_hy scan in -o bad -q
expect_rc 1 "SLURM_ARRAY_TASK_ID=2 with COUNT=2"
expect_err "SLURM_ARRAY_TASK" "message names the SLURM variables"
SLURM_PROCID=4 SLURM_NTASKS=4 run_hy reshard in -o bad -q
expect_rc 1 "reshard with SLURM_PROCID=4 NTASKS=4"
run_hy extract in -o bad --rank 1 --world 1 -q
expect_rc 1 "extract --rank 1 --world 1"
check "nothing written by the refused runs" test ! -e bad

# prompts splits caption files as the shards are split: file i goes where
# shard i does, so a rank's prompts are those of its own shards.
for r in 0 1; do
	run_hy prompts -i none -o "pr/r$r" --api none --lang any --rank "$r" --world 2 -q
	expect_rc 0 "prompts --rank $r --world 2"
	check "prompts rank $r of 2 = scan rank $r of 2" test "$(outs "pr/r$r")" = "$(outs "w2/r$r")"
done
finish
