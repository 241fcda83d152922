#!/usr/bin/env bash
# SLURM for real: starts a throw-away single-node cluster
# (scripts/slurm-local.sh, as root) and runs the offline pipeline (scan ->
# prompts --api none -> generate --image-api none --leftover blur -> reshard)
# over 10 shards (the 3 fixture shards and 7 made by build/gen_shards) in
# several ways: one process without SLURM (A, the reference); job arrays,
# one array job per stage, --array=0-3 (B) and --array=1-5:2 (B2: not from 0,
# step 2); srun -N1 -n3, one job step per stage (C). B, B2 and C must leave
# the same captions, prompts, edits and final shards as A, byte for byte,
# and the rank lines of the task logs must show every shard given to
# exactly one task. Then the contrib/slurm sbatch scripts, with their
# settings overridden from the environment: scan-reshard.sbatch scan,
# prompts-generate.sbatch (two tasks, fake LLM and image servers spawned by
# hybridize), scan-reshard.sbatch reshard, against one process with the same
# servers (D vs E). `bash -n` on the contrib scripts always runs.
#
# The stages run as separate jobs / steps: `prompts` splits the caption
# files present in its input folder, so a task must not start it before
# every task's scan is done. `hy_stage` below is the one place that names
# the commands. When `hybridize run` exists, variants R (--array=0-3) and RC
# (srun -n3) run the whole pipeline in each task, all tasks at once on one
# work folder.
#
# Without root, without slurm-wlm/munge, or when the cluster does not start
# (the daemons' last log lines are shown as "# " lines), the SLURM part is
# one "ok - slurm: SKIP: reason # SKIP" line; HY_SLURM_REQUIRED=1 makes that
# a failure. The cluster is stopped on exit, whatever happens. About 45 s.
TEST_NAME=slurm
. "$(dirname "$0")/lib.sh"
# tests/run.sh checks malloc on the normal build with libc_malloc_debug;
# SLURM's daemons deadlock under it (fork in threads): not theirs to pass.
unset LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
CONTRIB=$ROOT/contrib/slurm
LOCAL=$ROOT/scripts/slurm-local.sh
t0=$SECONDS

skip() {
	if [ "${HY_SLURM_REQUIRED:-0}" = 1 ]; then
		fail "SLURM required (HY_SLURM_REQUIRED=1) but: $*"
	else
		echo "ok - $TEST_NAME: SKIP: $* # SKIP"
	fi
	finish
}

# --- the contrib scripts parse, whatever the machine ---
for f in "$CONTRIB"/*.sbatch; do
	check "bash -n contrib/slurm/$(basename "$f")" bash -n "$f"
done
check "contrib/slurm/README.md is there" test -s "$CONTRIB/README.md"
# The reshard stage refuses while generate has not finished every shard
# (a shard without edits would be copied with its real faces).
mkdir -p guard/captions guard/edits/a
: >guard/captions/a.json
: >guard/captions/b.json
SHARDS=/nonexistent WORK=$T/guard HY=false bash "$CONTRIB/scan-reshard.sbatch" reshard >guard.out 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "1 finished shards.*captions 2" guard.out; then
	ok "scan-reshard.sbatch reshard refuses while edits are missing"
else
	fail "scan-reshard.sbatch reshard with 1 of 2 edits: exit $rc: $(head -c 400 guard.out)"
fi

# --- the cluster ---
[ "$(id -u)" -eq 0 ] || skip "not root (scripts/slurm-local.sh runs the daemons as root)"
for c in munged slurmctld slurmd sbatch srun; do
	command -v "$c" >/dev/null 2>&1 ||
		skip "$c not found: apt-get install slurm-wlm munge (scripts/setup.sh does)"
done
[ -x "$ROOT/build/gen_shards" ] || { fail "build/gen_shards missing (make tools)"; finish; }

# In /tmp, not in $T: munged's socket path must stay short whatever TMPDIR is.
SLURM_LOCAL_DIR=$(mktemp -d /tmp/hy-slurm-test.XXXXXX) || { fail "mktemp"; finish; }
export SLURM_LOCAL_DIR
# A free pair of ports, away from a cluster started by hand (6917).
for p in 7017 7117 7217 7317 7417 7517; do
	if ! (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
		! (: >"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
		export SLURM_LOCAL_PORT=$p
		break
	fi
done
cleanup() {
	"$LOCAL" stop >/dev/null 2>&1
	rm -rf "$SLURM_LOCAL_DIR"
	chmod -R u+w "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if ! envline=$("$LOCAL" start 2>start.err); then
	sed 's/^/# /' start.err
	skip "the local cluster did not start: $(grep -v '^ ' start.err | tail -n 1)"
fi
eval "$envline"
echo "# local cluster up in $((SECONDS - t0)) s ($SLURM_CONF)"

# --- inputs: 10 shards, more than the tasks of any job ---
mkdir in gen logs
"$ROOT/build/gen_shards" -o gen --shards 7 --samples 50 >/dev/null 2>&1
for f in "$SHARDS"/*.tar; do ln -s "$f" "in/f$(basename "$f")"; done
for f in gen/*.tar; do ln -s "$T/$f" "in/g$(basename "$f")"; done
NSHARDS=$(ls in | wc -l)
check "10 input shards" test "$NSHARDS" = 10
export HY IN=$T/in

# hy_stage STAGE WORK: one stage over $IN into WORK; the rank comes from
# SLURM. sourced by the job scripts too.
cat >pipe.sh <<'EOF'
hy_stage() {
	local w=$2
	case "$1" in
	scan) "$HY" scan "$IN" -o "$w/captions" -q --no-fsync ;;
	prompts) "$HY" prompts -i "$w/captions" -o "$w/prompts" --api none --lang any -q --no-fsync ;;
	generate) "$HY" generate -p "$w/prompts" -s "$IN" -o "$w/edits" --image-api none --leftover blur -q --no-fsync ;;
	reshard) "$HY" reshard "$IN" -e "$w/edits" -o "$w/shards" -q --no-fsync ;;
	run) "$HY" run "$IN" -w "$w" --api none --lang any --image-api none --leftover blur -q --no-fsync ;;
	*) echo "hy_stage: unknown stage $1" >&2; return 1 ;;
	esac
}
EOF
STAGES="scan prompts generate reshard"
printf '#!/bin/bash\n. %q\nhy_stage "$1" "$2"\n' "$T/pipe.sh" >stage.sbatch
. ./pipe.sh

# same NAME WORK: WORK's captions, prompts, edits and shards are A's, byte
# for byte (the servers' logs aside).
same() {
	local d bad=""
	for d in captions prompts edits shards; do
		[ -d "$2/$d" ] || { bad="$bad $d(missing)"; continue; }
		diff -r -x '.server-*.log' "A/$d" "$2/$d" >/dev/null 2>&1 || bad="$bad $d"
	done
	if [ -z "$bad" ]; then ok "$1: captions, prompts, edits, shards identical to one process"; else
		fail "$1: differs from one process in:$bad"
	fi
}

# splits NAME LOGDIR WORLD SOURCE COMMANDS: in the task logs, every command
# shows "rank R of WORLD (from SOURCE...): N of M" once per rank, and the
# N add up to all shards.
splits() {
	local name=$1 dir=$2 world=$3 src=$4 cmd res
	shift 4
	for cmd in "$@"; do
		res=$(cat "$dir"/*.out 2>/dev/null | awk -v c="$cmd" -v w="$world" -v s="$src" -v n="$NSHARDS" '
			$0 ~ "^hybridize " c ": rank [0-9]+ of [0-9]+ \\(from " {
				r = $4; ww = $6
				if (ww != w) bad = bad " world " ww
				if (index($0, "(from " s) == 0) bad = bad " source"
				if (seen[r]++) bad = bad " rank " r " twice"
				split($0, a, "\\): "); split(a[2], b, " "); sum += b[1]; k++
			}
			END {
				for (i = 0; i < w; i++) if (!seen[i]) bad = bad " rank " i " missing"
				if (sum != n) bad = bad " " sum " shards of " n
				print (bad == "" ? "ok" : bad)
			}')
		if [ "$res" = ok ]; then
			ok "$name: $cmd: $world ranks from $src, each shard to one of them"
		else
			fail "$name: $cmd rank lines:$res"
		fi
	done
}

# submit SBATCH_ARGS...: sbatch, then waits for the job (all its array
# tasks) to end; true when every task completed with exit 0. Polls
# scontrol every 0.2 s: sbatch --wait polls after 2, 5, 9... s.
submit() {
	local jid k=0 info
	jid=$(sbatch --parsable "$@") || return 1
	jid=${jid%%;*}
	while :; do
		info=$(scontrol -o show job "$jid" 2>/dev/null)
		[ -n "$info" ] && ! grep -Eq 'JobState=(PENDING|RUNNING|COMPLETING|CONFIGURING|SUSPENDED|REQUEUED)' <<<"$info" && break
		k=$((k + 1))
		if [ $k -gt 900 ]; then
			echo "job $jid still not done after 180 s; cancelling" >&2
			scancel "$jid"
			return 1
		fi
		sleep 0.2
	done
	grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' <<<"$info" | sed 's/ .*ExitCode=/ ExitCode=/' | sort | uniq -c >&2
	! grep -o 'JobState=[A-Z_]*\|ExitCode=[0-9:]*' <<<"$info" | grep -vqx 'JobState=COMPLETED\|ExitCode=0:0'
}

# --- A: one process, no SLURM ---
for s in $STAGES; do
	hy_stage "$s" A >>logs/A.out 2>>logs/A.err || fail "A: $s failed: $(tail -c 400 logs/A.err)"
done
check "A: 10 final shards" test "$(find A/shards -name '*.tar' 2>/dev/null | wc -l)" = "$NSHARDS"

# --- B, B2: a job array per stage ---
# array NAME ARRAY WORLD: each stage an `sbatch --array=ARRAY --wait` job.
array() {
	local s
	mkdir -p "logs/$1"
	for s in $STAGES; do
		if ! submit --array="$2" -c 1 -J "$s" -o "logs/$1/$s-%a.out" \
			stage.sbatch "$s" "$T/$1" >>"logs/$1.sbatch" 2>&1; then
			fail "$1: sbatch --array=$2 $s: $(tail -c 300 "logs/$1.sbatch"; tail -n 3 "logs/$1/$s"-*.out)"
			return 1
		fi
	done
	ok "$1: sbatch --array=$2, one job per stage, every task completed, exit 0"
	splits "$1" "logs/$1" "$3" SLURM_ARRAY_TASK_ID $STAGES
	same "$1 (--array=$2)" "$1"
}
tb=$SECONDS
array B 0-3 4
array B2 1-5:2 3
echo "# arrays took $((SECONDS - tb)) s"

# --- C: srun -N1 -n3, one job step per stage ---
tb=$SECONDS
mkdir -p logs/C
for s in $STAGES; do
	# shellcheck disable=SC2016 # expanded by the task's shell
	if ! srun -N1 -n3 -c 1 -J "$s" -o "logs/C/$s-%t.out" bash -c '. "$0"; hy_stage "$1" "$2"' \
		"$T/pipe.sh" "$s" "$T/C" 2>>logs/C.srun; then
		fail "C: srun -n3 $s: $(tail -c 300 logs/C.srun; tail -n 3 "logs/C/$s"-*.out)"
		break
	fi
done
splits C logs/C 3 SLURM_PROCID $STAGES
same "C (srun -N1 -n3)" C
echo "# srun took $((SECONDS - tb)) s"

# --- R, RC: `hybridize run`, the whole pipeline in each task ---
if "$HY" run --help >/dev/null 2>&1; then
	mkdir -p logs/R logs/RC
	if submit --array=0-3 -c 1 -J run -o "logs/R/run-%a.out" \
		stage.sbatch run "$T/R" >logs/R.sbatch 2>&1; then
		ok "R: sbatch --array=0-3 of hybridize run, every task exit 0"
	else
		fail "R: hybridize run array job: $(tail -c 300 logs/R.sbatch; tail -n 3 logs/R/*.out)"
	fi
	splits R logs/R 4 SLURM_ARRAY_TASK_ID run
	same "R (hybridize run, --array=0-3)" R
	# shellcheck disable=SC2016 # expanded by the task's shell
	if srun -N1 -n3 -c 1 -J run -o "logs/RC/run-%t.out" bash -c '. "$0"; hy_stage run "$1"' \
		"$T/pipe.sh" "$T/RC" 2>logs/RC.srun; then
		ok "RC: srun -N1 -n3 hybridize run, every task exit 0"
	else
		fail "RC: srun -n3 hybridize run: $(tail -c 300 logs/RC.srun; tail -n 3 logs/RC/*.out)"
	fi
	splits RC logs/RC 3 SLURM_PROCID run
	same "RC (hybridize run, srun -n3)" RC
else
	echo "# hybridize run does not exist: variants R and RC not run"
fi

# --- D: the contrib scripts, settings from the environment ---
FL=$ROOT/build/fake_llm
if [ -x "$FL" ]; then
	tb=$SECONDS
	mkdir -p logs/D
	LLM_SERVER="$FL --port {port} --max-seconds 300"
	IMAGE_SERVER="$FL --port {port} --max-seconds 300 --image-format jpeg"
	# E: one process, same servers, same options as the script gives.
	(
		"$HY" scan "$IN" -o E/captions -q --no-fsync &&
			"$HY" prompts -i E/captions -o E/prompts --spawn "$LLM_SERVER" --gpus 1 \
				--api ollama --model_name fake:latest --num_threads 8 --timeout 60 \
				--lang any -q --no-fsync &&
			"$HY" generate -p E/prompts -s "$IN" -o E/edits --spawn "$IMAGE_SERVER" \
				--gpus 1 --image-api a1111 --image-threads 2 --leftover blur \
				--llm-model fake:latest -j 1 -q --no-fsync &&
			"$HY" reshard "$IN" -e E/edits -o E/shards -q --no-fsync
	) >logs/E.out 2>&1 || fail "E: one process with fake servers: $(tail -c 400 logs/E.out)"
	# Brace ranges, two of them, as a site would write them.
	export SHARDS="$T/in/f{00000000..00000002}.tar $T/in/g{00000000..00000006}.tar"
	export WORK=$T/D HY_OPTS=--no-fsync GPUS=1 LLM_MODEL=fake:latest
	export LLM_SERVER IMAGE_SERVER PROMPTS_OPTS="--lang any --no-fsync -q" GENERATE_OPTS="--no-fsync -q"
	cd logs/D || exit 1
	# sbatch --wait once, as a site would use it: exit 0 only when every task
	# of the array exited 0.
	if sbatch --wait --quiet -p debug --array=1-5:2 -c 1 --mem=100M \
		"$CONTRIB/scan-reshard.sbatch" scan >../D.sbatch 2>&1; then
		ok "D: scan-reshard.sbatch scan as --array=1-5:2 (sbatch --wait)"
	else
		fail "D: scan-reshard.sbatch scan: $(tail -c 300 ../D.sbatch; tail -n 3 ./*.out)"
	fi
	# Two tasks on the one node stand for two GPU nodes; no GPUs here.
	if submit -p debug -N1 --ntasks-per-node=2 --gpus-per-node=0 -c 1 \
		"$CONTRIB/prompts-generate.sbatch" >>../D.sbatch 2>&1; then
		ok "D: prompts-generate.sbatch, 2 tasks, fake servers spawned by hybridize"
	else
		fail "D: prompts-generate.sbatch: $(tail -c 300 ../D.sbatch; tail -n 5 hy-hy-prompts-generate-*.out)"
	fi
	if submit -p debug --array=0-3 -c 1 --mem=100M \
		"$CONTRIB/scan-reshard.sbatch" reshard >>../D.sbatch 2>&1; then
		ok "D: scan-reshard.sbatch reshard as --array=0-3"
	else
		fail "D: scan-reshard.sbatch reshard: $(tail -c 300 ../D.sbatch; tail -n 3 ./*reshard*.out)"
	fi
	cd "$T" || exit 1
	splits "D scan" logs/D 3 SLURM_ARRAY_TASK_ID scan
	splits "D reshard" logs/D 4 SLURM_ARRAY_TASK_ID reshard
	splits D logs/D 2 SLURM_PROCID prompts generate
	bad=""
	for d in captions prompts edits shards; do
		diff -r -x '.server-*.log' "E/$d" "D/$d" >/dev/null 2>&1 || bad="$bad $d"
	done
	if [ -z "$bad" ]; then ok "D: same captions, prompts, edits, shards as one process with the same servers"; else
		fail "D: differs from one process in:$bad"
	fi
	check "D: synthetic images were made" bash -c 'grep -q "synthetic images *[1-9]" "$0"/hy-hy-prompts-generate-*.out' logs/D
	echo "# contrib scripts took $((SECONDS - tb)) s"
else
	echo "# build/fake_llm missing (make tools): contrib scripts only checked with bash -n"
fi

echo "# whole test $((SECONDS - t0)) s"
finish
