#!/usr/bin/env bash
# SLURM job arrays need not start at 0 nor step by 1: --array=1-4 gives
# tasks 1..4 (SLURM_ARRAY_TASK_MIN=1), --array=0-4:2 gives 0,2,4
# (SLURM_ARRAY_TASK_STEP=2). The rank is the task's place in the array, so
# the tasks together process every shard exactly once. With a world over 1
# the split is shown on stderr: "rank R of W (from VARIABLES)".
# SLURM_PROCID/SLURM_NTASKS alone give a quarter each and say so.
TEST_NAME=rank_split_array_min
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

mkdir in
for i in 0 1 2 3 4 5 6 7; do tt gen "in/s$i.tar" 2 100 "$i"; done
all="s0.tar s1.tar s2.tar s3.tar s4.tar s5.tar s6.tar s7.tar"
union() { ls "$1"/*/ 2>/dev/null | grep '\.tar$' | sort | tr '\n' ' ' | sed 's/ $//'; }
dups() { ls "$1"/*/ 2>/dev/null | grep '\.tar$' | sort | uniq -d; }

# --array=1-4
for id in 1 2 3 4; do
	SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=4 \
		SLURM_ARRAY_TASK_COUNT=4 SLURM_ARRAY_TASK_STEP=1 \
		run_hy reshard in -o "a/t$id" -q --no-fsync
	expect_rc 0 "reshard as task $id of --array=1-4"
	r=$((id - 1))
	expect_err "rank $r of 4 \(from [^)]*SLURM_ARRAY_TASK_ID" \
		"task $id: stderr shows rank $r of 4 and where it comes from"
	check "task $id: 2 shards" test "$(ls "a/t$id" 2>/dev/null | grep -c '\.tar$')" = 2
done
check "--array=1-4: every shard exactly once" test "$(union a)" = "$all"
check "--array=1-4: no shard twice" test -z "$(dups a)"

# --array=0-4:2
for id in 0 2 4; do
	SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=4 \
		SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_STEP=2 \
		run_hy scan in -o "b/t$id" -q
	expect_rc 0 "scan as task $id of --array=0-4:2"
	expect_err "rank $((id / 2)) of 3 \(from " \
		"task $id: stderr shows rank $((id / 2)) of 3"
done
check "--array=0-4:2: every shard exactly once" test \
	"$(ls b/*/ 2>/dev/null | grep '\.json$' | sort | tr '\n' ' ' | sed 's/ $//')" = "${all//.tar/.json}"
check "--array=0-4:2: no shard twice" test -z "$(ls b/*/ | grep '\.json$' | sort | uniq -d)"

# SLURM_PROCID/SLURM_NTASKS alone (srun -n 4, or sbatch --ntasks=4 without srun)
SLURM_PROCID=0 SLURM_NTASKS=4 run_hy reshard in -o p -q --no-fsync
expect_rc 0 "reshard with SLURM_PROCID=0 SLURM_NTASKS=4"
check "PROCID 0 of 4: only its quarter (s0, s4)" test "$(ls p | tr '\n' ' ')" = "s0.tar s4.tar "
expect_err "rank 0 of 4 \(from [^)]*SLURM_PROCID.*2 of 8" \
	"PROCID 0 of 4: stderr says rank 0 of 4, from SLURM_PROCID, 2 of 8 shards"

run_hy reshard in -o one -q --no-fsync
check "no SLURM: no rank line" bash -c '! grep -q "rank" err.txt'
finish
