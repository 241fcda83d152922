#!/usr/bin/env bash
# A SLURM variable that is not a number is bad usage (exit 1, the variable
# named, nothing started) for every command that reads it:
# SLURM_CPUS_PER_TASK as much as SLURM_PROCID, instead of a silent fall-back
# to every core. An explicit -j wins over the variable, as --rank/--world
# win over the rank variables.
TEST_NAME=slurm_env_not_a_number
. "$(dirname "$0")/lib.sh"

OFF=(--api none --lang any --image-api none --leftover blur)

SLURM_CPUS_PER_TASK=abc run_hy scan "$SHARDS" -o cap -q
expect_rc 1 "scan with SLURM_CPUS_PER_TASK=abc"
expect_err "SLURM_CPUS_PER_TASK='abc' is not a number" "the variable and its value are named"
check "nothing started" test ! -e cap

SLURM_CPUS_PER_TASK=4x run_hy reshard "$SHARDS" -o out -q
expect_rc 1 "reshard with SLURM_CPUS_PER_TASK=4x"
check "nothing started" test ! -e out

SLURM_CPUS_PER_TASK=abc run_hy run "$SHARDS" -w w "${OFF[@]}" -q
expect_rc 1 "run with SLURM_CPUS_PER_TASK=abc"
expect_err "SLURM_CPUS_PER_TASK" "run names the variable"
check "nothing started" test ! -e w

SLURM_CPUS_PER_TASK=-2 run_hy extract "$SHARDS" -o ex -q
expect_rc 1 "extract with SLURM_CPUS_PER_TASK=-2"

SLURM_PROCID=abc SLURM_NTASKS=2 run_hy scan "$SHARDS" -o cap -q
expect_rc 1 "scan with SLURM_PROCID=abc (the rule it follows)"

SLURM_CPUS_PER_TASK=abc run_hy scan "$SHARDS" -o cap -j 2 -q
expect_rc 0 "an explicit -j wins over the variable"
SLURM_CPUS_PER_TASK=2 run_hy scan "$SHARDS" -o cap2 -q
expect_rc 0 "a numeric SLURM_CPUS_PER_TASK is accepted"
finish
