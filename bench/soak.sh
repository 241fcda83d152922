#!/usr/bin/env bash
# bench/soak.sh: a long `hybridize run` (default 100 shards x 10,000
# samples = 1,000,000 samples) against faulty fake servers, watched from
# outside (`make soak`). Shards come from build/gen_shards --small (JPEGs of
# ~96x96, 2-5 KB: ~7 GB in, ~17 GB in all for the default size), so the
# pipeline and its bookkeeping are what is exercised, not the image codecs;
# the fake image servers draw 64x64 JPEGs (`--size 64x64`), which generate
# keeps as they come (same format as the originals).
#
# Servers: 2 fake LLMs (OpenAI API) and 2 fake image servers (a1111), each
# with 8 slots and a few ms of latency, every one injecting ~5% faults of
# mixed kinds (429, 500, 503, reset, half, garbage, hang; on images also
# b64-cut, image-cut, not-image, wrong-size). The English filter (fastText)
# stays on when .cache/models/lid.176.ftz is there, else --lang any.
#
# Reports: samples/s per stage (from .hybridize/progress-0.json, read every
# second, and the run's summary), peak RSS (build/maxrss, and VmRSS/VmHWM
# sampled every second), open file descriptors every second (/proc/PID/fd:
# min/max, a few samples, growth flagged), threads, retries and the faults
# the servers injected, disk used, then `hybridize verify` on the result.
# Ends with PASS/FAIL lines; exit 0 only when all pass.
#
# The run creates ~900,000 small files (edits) and the cleanup deletes
# them. ext4 skips over recently freed inodes when it allocates one
# (recently_deleted(): a window of minutes), so a soak started within a few
# minutes of another's cleanup spends several times more system time
# creating files (__ext4_new_inode -> find_inode_bit), at about the same
# throughput.
#
# Knobs (environment):
#   SOAK_SHARDS (100)  SOAK_SAMPLES (10000 per shard)
#   SOAK_DIR           where to work (default: a new /tmp/hy-soak.XXXXXX)
#   SOAK_KEEP=1        keep the data (else removed at the end; on a FAIL
#                      the logs are kept and named)
#   SOAK_JOBS (nproc)  hybridize -j
#   SOAK_FSYNC (1)     0: pass --no-fsync
#   SOAK_RSS_MAX_MB (1024)  peak RSS above this fails "RSS bounded"
#   SOAK_STALL (600)   seconds without any stage progress before the run is
#                      called hung (thread stacks saved with gdb, then killed)
#   SOAK_ARGS          extra arguments for `hybridize run`
#   HYBRIDIZE          the binary (default build/hybridize)
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

HY=${HYBRIDIZE:-$ROOT/build/hybridize} # another build can be pointed at
FAKE=$ROOT/build/fake_llm
GEN=$ROOT/build/gen_shards
MAXRSS=$ROOT/build/maxrss
SHARDS=${SOAK_SHARDS:-100}
SAMPLES=${SOAK_SAMPLES:-10000}
JOBS=${SOAK_JOBS:-$(nproc)}
RSS_MAX_MB=${SOAK_RSS_MAX_MB:-1024}
STALL=${SOAK_STALL:-600}
KEEP=${SOAK_KEEP:-0}

die() {
	echo "soak: $*" >&2
	exit 1
}
for v in SHARDS SAMPLES JOBS RSS_MAX_MB STALL; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "SOAK_$v must be a positive integer, got '${!v}'"
done
for b in "$HY" "$FAKE" "$GEN" "$MAXRSS"; do
	[ -x "$b" ] || die "$b missing: run 'make all tools'"
done
for t in jq curl python3; do
	command -v "$t" >/dev/null || die "'$t' not found; the soak needs it"
done
"$GEN" --help | grep -q -- --small || die "$GEN has no --small: run 'make tools'"

# ---- work folder: ours to remove, or SOAK_DIR's subfolders we make ----
if [ -n "${SOAK_DIR:-}" ]; then
	D=$SOAK_DIR
	if [ -d "$D" ]; then MADE_D=0; else MADE_D=1; fi
	mkdir -p "$D" || die "cannot create $D"
	[ -e "$D/src" ] || [ -e "$D/work" ] && die "$D already holds src/ or work/: give an empty SOAK_DIR"
else
	D=$(mktemp -d "${TMPDIR:-/tmp}/hy-soak.XXXXXX") || die "mktemp failed"
	MADE_D=1
fi
D=$(cd "$D" && pwd)
L=$D/log
mkdir -p "$L" || die "cannot create $L"

# ~7 KB a sample in, as much out, ~4 KB of edits (3 files of a 4 KB block
# for 30% of samples): ask for 20 KB a sample.
NEED_KB=$((SHARDS * SAMPLES * 20))
FREE_KB=$(df -Pk "$D" | awk 'NR == 2 { print $4 }')
[ "$FREE_KB" -ge "$NEED_KB" ] ||
	die "$D: $((FREE_KB / 1048576)) GB free, the soak needs ~$((NEED_KB / 1048576)) GB (lower SOAK_SHARDS)"

pids=()
HYPID=
# shellcheck disable=SC2317 # called by the traps
cleanup() {
	local st=$?
	[ -n "$HYPID" ] && kill "$HYPID" 2>/dev/null
	[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	if [ "$KEEP" = 1 ]; then
		echo "soak: kept $D (figures in $L/report.txt, samples in $L/samples.tsv)"
	elif [ "${SOAK_FAILED:-1}" = 1 ]; then
		rm -rf "$D/src" "$D/work"
		echo "soak: data removed; logs kept in $L"
	else
		rm -rf "$D/src" "$D/work" "$L"
		[ "$MADE_D" = 1 ] && rmdir "$D" 2>/dev/null
		echo "soak: removed its data and logs (SOAK_KEEP=1 keeps them)"
	fi
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T0=${EPOCHREALTIME/./}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# ---- data ----
echo "soak: $SHARDS shards x $SAMPLES samples (--small JPEGs) in $D"
t=${EPOCHREALTIME/./}
"$GEN" -o "$D/src" --shards "$SHARDS" --samples "$SAMPLES" --small 2>"$L/gen.err" ||
	{ cat "$L/gen.err" >&2; die "gen_shards failed"; }
GEN_S=$(secs "$t" "${EPOCHREALTIME/./}")
IN_BYTES=$(du -sb "$D/src" | cut -f1)
echo "soak: generated $((IN_BYTES / 1000000)) MB in $GEN_S s"

# ---- fake servers ----
# fake NAME ARGS...: starts a server in the background; port NAME reads
# its port once it listens.
fake() {
	local name=$1
	shift
	"$FAKE" --port 0 --port-file "$L/$name.port" --max-seconds 0 "$@" >"$L/$name.out" 2>"$L/$name.err" &
	pids+=($!)
}
port() {
	local pf=$L/$1.port
	for _ in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
	[ -s "$pf" ] || die "fake server $1 did not start: $(tail -3 "$L/$1.err")"
	cat "$pf"
}
# ~4.7% of LLM requests, ~5.3% of image requests fail, in every way.
LLM_FAULTS=(--fault 429:0.01 --fault 500:0.01 --fault 503:0.01 --fault reset:0.005
	--fault half:0.005 --fault garbage:0.005 --fault hang:0.002)
IMG_FAULTS=(--fault 429:0.005 --fault 500:0.005 --fault 503:0.005 --fault reset:0.004
	--fault half:0.002 --fault garbage:0.002 --fault hang:0.002 --fault b64-cut:0.007
	--fault image-cut:0.007 --fault not-image:0.007 --fault wrong-size:0.007)
SERVERS=(llm1 llm2 img1 img2)
fake llm1 --slots 8 --latency-ms 5-15 --seed 11 "${LLM_FAULTS[@]}"
fake llm2 --slots 8 --latency-ms 5-15 --seed 12 "${LLM_FAULTS[@]}"
fake img1 --slots 8 --latency-ms 10-30 --seed 21 --image-format jpeg "${IMG_FAULTS[@]}"
fake img2 --slots 8 --latency-ms 10-30 --seed 22 --image-format jpeg "${IMG_FAULTS[@]}"
declare -A PORT=()
for s in "${SERVERS[@]}"; do
	PORT[$s]=$(port "$s") || exit 1
done

LANG_ARGS=(--lang any)
LANG_NOTE="--lang any (no fastText model)"
if [ -n "${HYBRIDIZE_LID_MODEL:-}" ]; then
	LANG_ARGS=()
	LANG_NOTE="English filter on (fastText, $HYBRIDIZE_LID_MODEL)"
elif [ -f "$ROOT/.cache/models/lid.176.ftz" ]; then
	# Named: HYBRIDIZE may be a build elsewhere, which would look beside itself.
	LANG_ARGS=(--lang-model "$ROOT/.cache/models/lid.176.ftz")
	LANG_NOTE="English filter on (fastText lid.176)"
fi
FSYNC_ARGS=()
[ "${SOAK_FSYNC:-1}" = 0 ] && FSYNC_ARGS=(--no-fsync)
# shellcheck disable=SC2206 # SOAK_ARGS is split on purpose
EXTRA=(${SOAK_ARGS:-})
RUN=("$HY" run "$D/src" -w "$D/work" -j "$JOBS"
	--api openai --endpoint "http://127.0.0.1:${PORT[llm1]}" --endpoint "http://127.0.0.1:${PORT[llm2]}"
	--model_name fake:latest --num_threads 32 --timeout 5 "${LANG_ARGS[@]}"
	--image-api a1111 --image-endpoint "http://127.0.0.1:${PORT[img1]}"
	--image-endpoint "http://127.0.0.1:${PORT[img2]}" --image-threads 16 --image-timeout 5
	--size 64x64 --max-side 64 --leftover blur --progress-interval 10 "${FSYNC_ARGS[@]}" "${EXTRA[@]}")
echo "soak: servers: LLM ${PORT[llm1]} ${PORT[llm2]}, image ${PORT[img1]} ${PORT[img2]} (8 slots each); $LANG_NOTE"
echo "soak: command: ${RUN[*]}"
printf '%q ' "${RUN[@]}" >"$L/command"

# ---- the run, watched every second ----
"$MAXRSS" "$L/maxrss.kib" "${RUN[@]}" >"$L/run.out" 2>"$L/run.err" &
MPID=$!
for _ in $(seq 200); do
	HYPID=$(awk '{ print $1 }' "/proc/$MPID/task/$MPID/children" 2>/dev/null)
	[ -n "$HYPID" ] && break
	kill -0 "$MPID" 2>/dev/null || break
	sleep 0.01
done
[ -n "$HYPID" ] || HYPID=$(pgrep -P "$MPID" | head -1)
[ -n "$HYPID" ] || die "hybridize did not start: $(tail -3 "$L/run.err")"
TR0=${EPOCHREALTIME/./}
echo "soak: hybridize pid $HYPID; sampling fds, RSS and progress every second into $L/samples.tsv"

PROG=$D/work/.hybridize/progress-0.json
printf 't\tfds\trss_kb\thwm_kb\tthreads\tscan\tprompts\tgenerate\treshard\tutime\tstime\n' >"$L/samples.tsv"
TICK=$(getconf CLK_TCK)
MAXFD=0
LASTKEY=
LASTCHANGE=$TR0
STALLED=0
NEXT=$TR0
while kill -0 "$HYPID" 2>/dev/null; do
	now=${EPOCHREALTIME/./}
	el=$(((now - TR0) / 1000))
	fds=(/proc/"$HYPID"/fd/*)
	nfd=${#fds[@]}
	rss=0 hwm=0 thr=0
	while read -r k v _; do
		case $k in
		VmRSS:) rss=$v ;;
		VmHWM:) hwm=$v ;;
		Threads:) thr=$v ;;
		esac
	done <"/proc/$HYPID/status" 2>/dev/null
	if [ "$rss" = 0 ]; then
		# Gone between the check and the read, or a read that failed:
		# noted, and the loop goes on while the process lives.
		kill -0 "$HYPID" 2>/dev/null || break
		{
			echo "t=${el}ms: no VmRSS from /proc/$HYPID/status:"
			head -c 2000 "/proc/$HYPID/status" 2>&1
		} >>"$L/sampler.log"
		sleep 0.2
		continue
	fi
	cpu=("-" "-")
	if read -r -a pst <"/proc/$HYPID/stat" 2>/dev/null; then
		cpu=("${pst[13]}" "${pst[14]}") # utime, stime (ticks; comm has no space)
	fi
	st="0 0 0 0"
	if [ -s "$PROG" ]; then
		st=$(jq -r '[.stages.scan.done + .stages.scan.skipped, .stages.prompts.done + .stages.prompts.skipped,
			.stages.generate.done + .stages.generate.skipped, .stages.reshard.done + .stages.reshard.skipped] | @tsv' \
			"$PROG" 2>/dev/null) || st="? ? ? ?"
		[ -n "$st" ] || st="? ? ? ?"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$el" "$nfd" "$rss" "$hwm" "$thr" "${st// /$'\t'}" \
		"${cpu[0]}" "${cpu[1]}" >>"$L/samples.tsv"
	# The fd table at each new maximum, to name what grows.
	if [ "$nfd" -gt "$MAXFD" ]; then
		MAXFD=$nfd
		{ echo "t=${el}ms fds=$nfd"; ls -l "/proc/$HYPID/fd/" 2>/dev/null; } >"$L/fd-at-max.txt"
	fi
	# Stall watch: any stage's count moving counts as progress.
	if [ "$st" != "$LASTKEY" ]; then
		LASTKEY=$st
		LASTCHANGE=$now
	elif [ $(((now - LASTCHANGE) / 1000000)) -ge "$STALL" ]; then
		echo "soak: no stage progress for $STALL s: saving thread stacks, stopping the run" >&2
		timeout 120 gdb -p "$HYPID" -batch -ex 'thread apply all bt' >"$L/stall-stacks.txt" 2>&1
		ls -l "/proc/$HYPID/fd/" >"$L/stall-fds.txt" 2>&1
		for s in "${SERVERS[@]}"; do curl -s "http://127.0.0.1:${PORT[$s]}/stats" >"$L/stall-$s.stats"; echo >>"$L/stall-$s.stats"; done
		STALLED=1
		kill -TERM "$HYPID"
		break
	fi
	NEXT=$((NEXT + 1000000))
	now=${EPOCHREALTIME/./}
	[ "$NEXT" -gt "$now" ] && sleep "$(awk -v d=$((NEXT - now)) 'BEGIN { printf "%.3f", d / 1e6 }')"
	[ "$NEXT" -le "$now" ] && NEXT=$now
done
kill -0 "$HYPID" 2>/dev/null && echo "soak: the sampling loop left early; the run goes on" | tee -a "$L/sampler.log" >&2
wait "$MPID"
RC=$?
HYPID=
TR1=${EPOCHREALTIME/./}
# The last stage counts, as the run left them (the loop may miss the last
# second): one more row, with no process figures.
if [ -s "$PROG" ]; then
	st=$(jq -r '[.stages.scan.done + .stages.scan.skipped, .stages.prompts.done + .stages.prompts.skipped,
		.stages.generate.done + .stages.generate.skipped, .stages.reshard.done + .stages.reshard.skipped] | @tsv' \
		"$PROG" 2>/dev/null) && printf '%s\t-\t-\t-\t-\t%s\t-\t-\n' "$(((TR1 - TR0) / 1000))" "$st" >>"$L/samples.tsv"
fi
RUN_S=$(secs "$TR0" "$TR1")
PEAK_KB=$(cat "$L/maxrss.kib" 2>/dev/null || echo 0)
echo "soak: run ended after $RUN_S s, exit $RC"
cp -f "$PROG" "$L/progress-0.json" 2>/dev/null

# ---- what the servers saw ----
for s in "${SERVERS[@]}"; do
	curl -s "http://127.0.0.1:${PORT[$s]}/stats" >"$L/$s.stats" || echo '{}' >"$L/$s.stats"
done
kill "${pids[@]}" 2>/dev/null
wait 2>/dev/null
pids=()

"$HY" status "$D/work" --json >"$L/status.json" 2>"$L/status.err"
"$HY" status "$D/work" --missing >"$L/missing.txt" 2>>"$L/status.err"
MISSING=$(grep -cv '^array:' "$L/missing.txt")
NOUT=$(find "$D/work/shards" -maxdepth 1 -name '*.tar' 2>/dev/null | wc -l)
OUT_BYTES=$(du -sb "$D/work/shards" 2>/dev/null | cut -f1)
WORK_BYTES=$(du -sb "$D/work" 2>/dev/null | cut -f1)
EDIT_FILES=$(find "$D/work/edits" -type f 2>/dev/null | wc -l)

# ---- verify ----
echo "soak: hybridize verify"
t=${EPOCHREALTIME/./}
"$HY" verify "$D/src" -e "$D/work/edits" -o "$D/work/shards" -j "$JOBS" --json "$L/verify.json" \
	>"$L/verify.out" 2>"$L/verify.err"
VRC=$?
VERIFY_S=$(secs "$t" "${EPOCHREALTIME/./}")
[ $VRC -ne 0 ] && tail -n 20 "$L/verify.err" >&2

# ---- report ----
export SHARDS SAMPLES RC VRC RUN_S PEAK_KB RSS_MAX_MB MISSING NOUT IN_BYTES OUT_BYTES WORK_BYTES
export EDIT_FILES GEN_S VERIFY_S STALLED L TICK
python3 - <<'PY'
import json, os, re, statistics as stt

E = os.environ
L = E["L"]
N, S = int(E["SHARDS"]), int(E["SAMPLES"])
rows, srows = [], []  # process samples; stage counts (with the final row)
with open(os.path.join(L, "samples.tsv")) as f:
    next(f)
    for line in f:
        p = line.rstrip("\n").split("\t")
        if len(p) < 9:
            continue
        try:
            r = [float(p[0]) / 1000] + [int(x) if x.isdigit() else None for x in p[1:11]]
        except ValueError:
            continue
        srows.append(r)
        if None not in r[1:5]:
            rows.append(r)
out = open(os.path.join(L, "report.txt"), "w")
def say(*a):
    print(*a)
    print(*a, file=out)

summ = open(os.path.join(L, "run.out")).read() if os.path.exists(os.path.join(L, "run.out")) else ""
counts = summ[summ.find("samples scanned"):] if "samples scanned" in summ else ""
def sv(label):  # a figure of the summary's counts block
    m = re.search(r"^\s*" + re.escape(label) + r"\s+([0-9.]+)", counts, re.M)
    return m.group(1) if m else "?"

run_s = float(E["RUN_S"])
say()
say("soak: run summary (hybridize run stdout)")
for line in summ.splitlines():
    say("  | " + line)

# Per stage: when the stage's count first reached 1 and N.
stages = ["scan", "prompts", "generate", "reshard"]
say()
say("%-9s %8s %10s %12s %14s %16s" % ("stage", "shards", "last at s", "samples/s", "steady samp/s", "(first..last s)"))
stage_rate = {}
for i, st in enumerate(stages):
    col = 5 + i
    vals = [(r[0], r[col]) for r in srows if r[col] is not None]
    done = max((v for _, v in vals), default=0)
    t_first = next((t for t, v in vals if v >= 1), None)
    t_last = next((t for t, v in vals if v >= done), None) if done else None
    if not done or t_last is None:
        say("%-9s %8d %10s %12s %14s" % (st, done, "-", "-", "-"))
        continue
    # A stage whose last shard finished after the last sample: the run's end.
    rate = done * S / max(t_last, 1e-9)
    steady = (done - 1) * S / (t_last - t_first) if done > 1 and t_last > t_first else float("nan")
    stage_rate[st] = (rate, steady)
    say("%-9s %8d %10.0f %12.0f %14s %16s" % (st, done, t_last, rate, "-" if steady != steady else "%.0f" % steady,
                                              "%.0f..%.0f" % (t_first, t_last)))

# File descriptors and memory over time.
fds = [r[1] for r in rows]
rss = [r[2] for r in rows]
thr = [r[4] for r in rows]
say()
if rows:
    n = len(rows)
    gaps = [b[0] - a[0] for a, b in zip(rows, rows[1:])]
    say("samples every 1 s: %d over %.0f s, largest gap %.1f s; a few of them:"
        % (n, run_s, max(gaps + [srows[-1][0] - rows[-1][0] if srows else 0])))
    say("  %8s %6s %10s %8s   %s" % ("t s", "fds", "RSS MB", "threads", "shards scan/prompts/generate/reshard"))
    for k in sorted(set([0] + [n * j // 10 for j in range(1, 10)] + [n - 1])):
        r = rows[k]
        say("  %8.0f %6d %10.1f %8d   %s" % (r[0], r[1], r[2] / 1024, r[4], "/".join("?" if x is None else str(x) for x in r[5:9])))
fd_verdict, fd_note = "FAIL", "no samples"
rss_verdict, rss_note = "FAIL", "no samples"
if len(rows) >= 6:
    # Warm-up is the first 10%; compare the first and last thirds of the rest.
    body = rows[len(rows) // 10:]
    third = max(1, len(body) // 3)
    a, b = body[:third], body[-third:]
    fa, fb = max(r[1] for r in a), max(r[1] for r in b)
    # Least-squares slope of the fd count over the body, per hour.
    ts = [r[0] for r in body]
    mt, mf = stt.mean(ts), stt.mean(r[1] for r in body)
    den = sum((t - mt) ** 2 for t in ts)
    slope = sum((r[0] - mt) * (r[1] - mf) for r in body) / den * 3600 if den else 0.0
    grow = fb > fa + max(8, fa // 10)
    fd_verdict = "FAIL" if grow else "PASS"
    fd_note = ("min %d, max %d; max in first/last third (after warm-up) %d/%d; trend %+.1f fds/hour%s"
               % (min(fds), max(fds), fa, fb, slope, "; GROWS" if grow else ""))
    ra, rb = max(r[2] for r in a), max(r[2] for r in b)
    peak_mb = int(E["PEAK_KB"] or 0) / 1024
    mts = stt.mean(r[2] for r in body)
    rslope = sum((r[0] - mt) * (r[2] - mts) for r in body) / den * 3600 / 1024 if den else 0.0
    rgrow = rb > ra * 1.25 + 16 * 1024
    over = peak_mb > int(E["RSS_MAX_MB"])
    rss_verdict = "FAIL" if rgrow or over else "PASS"
    rss_note = ("peak %.1f MB (limit %s MB); max RSS first/last third %.1f/%.1f MB; trend %+.1f MB/hour%s%s"
                % (peak_mb, E["RSS_MAX_MB"], ra / 1024, rb / 1024, rslope,
                   "; GROWS" if rgrow else "", "; OVER LIMIT" if over else ""))

# Retries and injected faults.
def stats(name):
    try:
        return json.load(open(os.path.join(L, name + ".stats")))
    except Exception:
        return {}
llm = [stats("llm1"), stats("llm2")]
img = [stats("img1"), stats("img2")]
def faults(ss):
    d = {}
    for s in ss:
        for k, v in (s.get("faults") or {}).items():
            d[k] = d.get(k, 0) + v
    return d
lf, imf = faults(llm), faults(img)
lreq = sum(s.get("llm_requests", 0) for s in llm)
ireq = sum(s.get("image_requests", 0) for s in img)
def fstr(d):
    return ", ".join("%s %d" % (k, v) for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v)

ver = {}
try:
    ver = json.load(open(os.path.join(L, "verify.json")))
except Exception:
    pass

# CPU time of hybridize to its last sample (the last second is not in it).
cpu_note = "-"
crow = [r for r in rows if len(r) > 10 and r[9] is not None and r[10] is not None]
if crow:
    tick = float(E.get("TICK") or 100)
    u, sy, t = crow[-1][9] / tick, crow[-1][10] / tick, max(crow[-1][0], 1e-9)
    cpu_note = "%.0f s / %.0f s (%.2f of %d cores over %.0f s)" % (u, sy, (u + sy) / t, os.cpu_count() or 0, t)

in_mb, out_mb, work_mb = (int(E[k] or 0) / 1e6 for k in ("IN_BYTES", "OUT_BYTES", "WORK_BYTES"))
samples_total = N * S
say()
say("soak figures")
rowsf = [
    ("shards x samples", "%d x %d = %d" % (N, S, samples_total)),
    ("input (gen_shards --small)", "%.0f MB, made in %s s" % (in_mb, E["GEN_S"])),
    ("run wall time", "%s s, exit %s%s" % (E["RUN_S"], E["RC"], " (STALLED, killed)" if E["STALLED"] == "1" else "")),
    ("overall samples/s", "%.0f (summary: %s/s)" % (samples_total / run_s if run_s else 0, sv("speed (scanned)"))),
]
for st in stages:
    if st in stage_rate:
        rowsf.append(("  %s samples/s" % st, "%.0f from start, %s steady" % (
            stage_rate[st][0], "-" if stage_rate[st][1] != stage_rate[st][1] else "%.0f" % stage_rate[st][1])))
rowsf += [
    ("samples scanned / face", "%s / %s" % (sv("samples scanned"), sv("face samples"))),
    ("prompts / declined / other lang", "%s / %s / %s" % (sv("prompts"), sv("declined"), sv("other language"))),
    ("synthetic / blurred / dropped", "%s / %s / %s" % (sv("synthetic images"), sv("blurred"), sv("dropped"))),
    ("failed samples (summary)", sv("failed (run again)")),
    ("retries (summary)", sv("retries")),
    ("LLM requests / faults injected", "%d / %d (%.2f%%): %s" % (lreq, sum(lf.values()), 100.0 * sum(lf.values()) / max(lreq, 1), fstr(lf))),
    ("image requests / faults injected", "%d / %d (%.2f%%): %s" % (ireq, sum(imf.values()), 100.0 * sum(imf.values()) / max(ireq, 1), fstr(imf))),
    ("LLM / image requests per s", "%.0f / %.0f" % (lreq / run_s if run_s else 0, ireq / run_s if run_s else 0)),
    ("hybridize CPU user / sys", cpu_note),
    ("peak RSS (maxrss)", "%.1f MB" % (int(E["PEAK_KB"] or 0) / 1024)),
    ("RSS sampled min / max", "%.1f / %.1f MB" % (min(rss) / 1024, max(rss) / 1024) if rss else "-"),
    ("open fds min / max", "%d / %d" % (min(fds), max(fds)) if fds else "-"),
    ("threads min / max", "%d / %d" % (min(thr), max(thr)) if thr else "-"),
    ("output shards / missing", "%s / %s (%.0f MB)" % (E["NOUT"], E["MISSING"], out_mb)),
    ("work dir on disk", "%.0f MB, %s edit files" % (work_mb, E["EDIT_FILES"])),
    ("verify", "exit %s in %s s" % (E["VRC"], E["VERIFY_S"])),
]
for k, v in rowsf:
    say("  %-34s %s" % (k, v))

say()
ok_shards = E["RC"] == "0" and int(E["NOUT"]) == N and E["MISSING"] == "0" and E["STALLED"] != "1"
verdicts = [
    ("fd flat", fd_verdict, fd_note),
    ("RSS bounded", rss_verdict, rss_note),
    ("verify ok", "PASS" if E["VRC"] == "0" else "FAIL", "hybridize verify exit %s" % E["VRC"]),
    ("all shards done", "PASS" if ok_shards else "FAIL",
     "run exit %s, %s/%d output shards, %s missing%s" % (E["RC"], E["NOUT"], N, E["MISSING"],
                                                        ", stalled" if E["STALLED"] == "1" else "")),
]
for name, v, note in verdicts:
    say("%s: %-16s %s" % (v, name, note))
out.close()
raise SystemExit(0 if all(v == "PASS" for _, v, _ in verdicts) else 1)
PY
PRC=$?
T_END=${EPOCHREALTIME/./}
echo "soak: done in $(secs "$T0" "$T_END") s"
SOAK_FAILED=$([ $PRC -eq 0 ] && echo 0 || echo 1)
exit $PRC
