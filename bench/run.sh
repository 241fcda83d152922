#!/usr/bin/env bash
# bench/run.sh: measures the scan and reshard figures of SPEC.md in one run,
# interleaving hybridize with the old pipeline and plain tools on the same
# shards and cores, and prints medians, ratios and PASS/FAIL (`make bench`).
# As root it also times scan and reshard on shards dropped from the page
# cache (what a cluster run reads), against bsdtar -tf and cp.
#
# Knobs (environment): BENCH_SHARDS (4), BENCH_SAMPLES (10000 per shard),
# BENCH_DIR (build/bench/data), BENCH_REPEAT (7), JOBS (nproc),
# BENCH_RSS_SAMPLES (2000 per shard, for the 1 -> 16 shard memory check),
# HYBRIDIZE (build/hybridize).
# Exits 0 even when a target is missed (it is a measurement); 1 when it
# cannot measure (no build/hybridize, a baseline tool missing, bad knobs) or
# when a run failed (the error is shown; the other figures still print).
# shellcheck disable=SC2317 # setup_X / case_X are called by name
set -uo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 1

SHARDS=${BENCH_SHARDS:-4}
SAMPLES=${BENCH_SAMPLES:-10000}
REPEAT=${BENCH_REPEAT:-7}
JOBS=${JOBS:-$(nproc)}
DATA=${BENCH_DIR:-build/bench/data}
RSS_SAMPLES=${BENCH_RSS_SAMPLES:-2000}
RSS_SHARDS=16
SEED=1
TOOL=${HYBRIDIZE:-build/hybridize} # another build can be pointed at
BIN=build/bench
CC=${CC:-gcc}

die() {
	echo "bench: $*" >&2
	exit 1
}

for v in SHARDS SAMPLES REPEAT JOBS RSS_SAMPLES; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[ -x "$TOOL" ] || die "$TOOL not found: run 'make' at the repository root first"
for t in tar bsdtar python3 xargs cp sync "$CC"; do
	command -v "$t" >/dev/null || die "'$t' not found; the benchmark needs it"
done

# ---- helpers: `make tools` puts them in build/; when run alone the script
# builds its own copy in build/bench/ ----

mkdir -p "$BIN" || die "cannot create $BIN"
# helper NAME LIBS...: sets HELPER to an up-to-date binary of bench/NAME.c
helper() {
	local name=$1
	shift
	if [ -x "build/$name" ] && ! [ "bench/$name.c" -nt "build/$name" ]; then
		HELPER=build/$name
		return
	fi
	HELPER=$BIN/$name
	if [ ! -x "$HELPER" ] || [ "bench/$name.c" -nt "$HELPER" ]; then
		"$CC" -std=c11 -O2 -Wall -Wextra -Werror -o "$HELPER" "bench/$name.c" "$@" ||
			die "cannot build $HELPER"
	fi
}
# shellcheck disable=SC2046 # the flags must split into words
helper gen_shards $(pkg-config --cflags --libs libarchive libturbojpeg)
GEN=$HELPER
helper maxrss
MAXRSS=$HELPER

# ---- data: regenerated only when the parameters or the generator change ----

# make_data DIR SHARDS SAMPLES: DIR/shards/*.tar and DIR/edits/, reused while
# DIR/stamp matches.
make_data() {
	local dir=$1 n=$2 per=$3 stamp
	stamp="shards=$n samples=$per seed=$SEED face=0.3 edits=0.3 gen=$(cksum <bench/gen_shards.c)"
	if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ]; then
		echo "bench: reusing $dir ($n x $per samples)"
		return 0
	fi
	rm -rf "$dir"
	"$GEN" -o "$dir/shards" --edits "$dir/edits" --shards "$n" --samples "$per" \
		--seed "$SEED" --face-ratio 0.3 --edit-ratio 0.3 || return 1
	echo "$stamp" >"$dir/stamp"
}

T_START=${EPOCHREALTIME/./}
MAIN=$DATA/main
RSSD=$DATA/rss
W=$DATA/work # every timed output goes here; removed at exit
make_data "$MAIN" "$SHARDS" "$SAMPLES" || die "cannot generate shards in $MAIN"
make_data "$RSSD" "$RSS_SHARDS" "$RSS_SAMPLES" || die "cannot generate shards in $RSSD"

cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$W"
mkdir -p "$W/noedits" "$W/log" "$W/keep" || die "cannot create $W"

SH=("$MAIN"/shards/*.tar)
NAMES=()
for f in "${SH[@]}"; do
	b=${f##*/}
	NAMES+=("${b%.tar}")
done
EDITS=$MAIN/edits
NOEDITS=$W/noedits # empty: reshard copies every member through
IN_BYTES=$(stat -c %s "${SH[@]}" | awk '{ s += $1 } END { print s }')

# Timings are from the page cache, but for the cold cases (root only: they
# drop it). Read everything so that the first timed case of a round does
# not pay for the disk.
warm_inputs() {
	cat "${SH[@]}" "$RSSD"/shards/*.tar >/dev/null
	find "$EDITS" -type f -exec cat {} + >/dev/null
}
warm_inputs

# ---- cases: case_X is timed; it writes under $O, which run_case creates
# empty before and removes after, so every case starts from the same state
# (inputs in the page cache, no other outputs); optional setup_X (untimed)
# prepares $O, optional keep_X saves what the checks need in the last round ----

O=$W/out
KEEP=$W/keep
shards0() { printf '%s\0' "${SH[@]}"; }

setup_old_scan() { (mkdir -p "$O/x" && cd "$O/x" && mkdir "${NAMES[@]}"); }
case_old_scan() {
	printf '%s\n' "${NAMES[@]}" | xargs -P "$JOBS" -I{} tar -xf "$MAIN/shards/{}.tar" -C "$O/x/{}" ||
		return
	MID=${EPOCHREALTIME/./} # run_case splits the time into the two steps
	python3 bench/old_scan.py "$O/x" "$O/cap"
}
keep_old_scan() { mv "$O/cap" "$KEEP/oldcap"; }
case_scan() { "$TOOL" scan "${SH[@]}" -o "$O/cap" -j "$JOBS"; }
keep_scan() { mv "$O/cap" "$KEEP/cap"; }
case_bsdtar() { shards0 | xargs -0 -P "$JOBS" -n 1 bsdtar -tf >/dev/null; }
case_cp() { shards0 | xargs -0 -P "$JOBS" -n 1 cp -t "$O"; }
case_cp_sync() { case_cp && sync "$O"/*.tar; }
case_rs() { "$TOOL" reshard "${SH[@]}" -e "$NOEDITS" -o "$O" -j "$JOBS" --no-fsync; }
case_rs_edits() { "$TOOL" reshard "${SH[@]}" -e "$EDITS" -o "$O" -j "$JOBS" --no-fsync; }
case_rs_fsync() { "$TOOL" reshard "${SH[@]}" -e "$NOEDITS" -o "$O" -j "$JOBS"; }
case_rs_edits_fsync() { "$TOOL" reshard "${SH[@]}" -e "$EDITS" -o "$O" -j "$JOBS"; }
case_py_reshard() { shards0 | xargs -0 -P "$JOBS" -n 1 python3 bench/old_reshard.py "$EDITS" "$O"; }

# Cold cases: the shards dropped from the page cache first (root only), as
# on a cluster, where a stage reads each shard from the parallel file system.
drop_caches() { sync && echo 1 >/proc/sys/vm/drop_caches; }
setup_scan_cold() { drop_caches; }
setup_bsdtar_cold() { drop_caches; }
setup_cp_cold() { drop_caches; }
setup_rs_cold() { drop_caches; }
case_scan_cold() { case_scan; }
case_bsdtar_cold() { case_bsdtar; }
case_cp_cold() { case_cp; }
case_rs_cold() { case_rs; }

CASES=(old_scan scan bsdtar cp rs rs_edits cp_sync rs_fsync rs_edits_fsync py_reshard)
COLD=0
if [ -w /proc/sys/vm/drop_caches ]; then
	COLD=1
	CASES+=(scan_cold bsdtar_cold cp_cold rs_cold)
fi
declare -A LABEL=(
	[old_scan]="old: parallel tar -x + python"
	[old_scan_1]="  of which step 1, tar -x"
	[old_scan_2]="  of which step 2, python"
	[scan]="hybridize scan"
	[bsdtar]="bsdtar -tf"
	[cp]="cp"
	[rs]="reshard --no-fsync, no edits"
	[rs_edits]="reshard --no-fsync, 30% edits"
	[cp_sync]="cp + sync FILE..."
	[rs_fsync]="reshard (fsync), no edits"
	[rs_edits_fsync]="reshard (fsync), 30% edits"
	[py_reshard]="old: python tarfile, 30% edits"
	[scan_cold]="hybridize scan, cold cache"
	[bsdtar_cold]="bsdtar -tf, cold cache"
	[cp_cold]="cp, cold cache"
	[rs_cold]="reshard --no-fsync, cold cache"
)
declare -A TIMES=() TR=() CPU=() FAILED=() # TR, CPU[NAME:ROUND]: microseconds

# children_cpu: writes to $W/times the CPU time (user + system) used so far
# by this shell's finished children, in microseconds. `times` must run in
# this shell itself: in a $(...) subshell it would report the subshell's.
children_cpu() {
	times >"$W/times.raw"
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2]
		}
		printf "%d", t * 1e6 }' "$W/times.raw" >"$W/times"
}

# run_case NAME [LAST]: times case_NAME (microseconds) into TIMES[NAME],
# its CPU time into CPU[NAME:ROUND].
run_case() {
	local name=$1 last=${2:-} t0 t1 rc c0
	if ! { rm -rf "$O" && mkdir -p "$O"; }; then
		die "cannot empty $O"
	fi
	if declare -F "setup_$name" >/dev/null; then
		"setup_$name" || die "setup of $name failed"
	fi
	# Fresh memory for this case's outputs. On VMs whose host takes back
	# free memory (Firecracker's page reporting; our CI machines), pages
	# freed seconds ago are cold and cost a host fault on first touch:
	# the first writer after a quiet spell (cp, after the read-only scan
	# cases) ran 5-8x slower than the next one. Writing and freeing as
	# much as the case will write, just before it, warms the same pages
	# for every case.
	dd if=/dev/zero of="$W/warm" bs=1M count=$((IN_BYTES >> 20)) status=none &&
		rm -f "$W/warm" || die "cannot write $W/warm"
	# Write-back left by the previous case would otherwise land on this one.
	sync
	MID=
	children_cpu
	c0=$(<"$W/times")
	t0=${EPOCHREALTIME/./}
	"case_$name" >"$W/log/$name.out" 2>"$W/log/$name.err"
	rc=$?
	t1=${EPOCHREALTIME/./}
	if [ $rc -ne 0 ]; then
		if [ -z "${FAILED[$name]:-}" ]; then
			echo "bench: ${LABEL[$name]} failed (exit $rc):" >&2
			tail -n 5 "$W/log/$name.err" >&2
		fi
		FAILED[$name]=1
	else
		TIMES[$name]+=" $((t1 - t0))"
		TR[$name:$round]=$((t1 - t0))
		children_cpu
		CPU[$name:$round]=$(($(<"$W/times") - c0))
		if [ -n "$MID" ]; then
			TIMES[${name}_1]+=" $((MID - t0))"
			TIMES[${name}_2]+=" $((t1 - MID))"
		fi
		if [ -n "$last" ] && declare -F "keep_$name" >/dev/null; then
			"keep_$name" || die "cannot keep the outputs of $name"
		fi
	fi
	rm -rf "$O"
}

echo "bench: ${#SH[@]} shards x $SAMPLES samples, $((IN_BYTES / 1000000)) MB, -j $JOBS," \
	"$REPEAT rounds, page cache warm (not dropped)"
for ((round = 1; round <= REPEAT; round++)); do
	printf 'bench: round %d/%d:' "$round" "$REPEAT"
	# The cold cases of the last round dropped the inputs.
	[ "$COLD" = 0 ] || warm_inputs
	for c in "${CASES[@]}"; do
		printf ' %s' "$c"
		run_case "$c" "$([ "$round" = "$REPEAT" ] && echo last)"
	done
	echo
done

# ---- outputs agree with the baselines (checked once, untimed) ----

CHECKS=()
if [ -d "$KEEP/oldcap" ] && [ -d "$KEEP/cap" ]; then
	if python3 - "$KEEP/oldcap" "$KEEP/cap" <<'EOF'; then
import json, os, sys
old, new = sys.argv[1], sys.argv[2]
# the stage files; dot names (our .faces.json record) are not among them
names = sorted(n for n in os.listdir(old) if not n.startswith("."))
ok = names == sorted(n for n in os.listdir(new) if not n.startswith("."))
for n in names if ok else []:
    with open(os.path.join(old, n), encoding="utf-8") as a, open(os.path.join(new, n), encoding="utf-8") as b:
        ok = ok and json.load(a) == json.load(b)
sys.exit(0 if ok else 1)
EOF
		CHECKS+=("scan captions equal the old pipeline's: yes")
	else
		CHECKS+=("scan captions equal the old pipeline's: NO")
	fi
fi
# same_members A B NAME...: A/NAME.tar and B/NAME.tar hold the same member
# names, order and data (tar headers and padding may differ).
same_members() {
	python3 - "$@" <<'EOF'
import hashlib, os, sys, tarfile
def digest(path):
    h = hashlib.sha256()
    with tarfile.open(path) as t:
        for m in t:
            h.update(m.name.encode() + b"\0")
            if m.isfile():
                h.update(t.extractfile(m).read())
    return h.digest()
a, b = sys.argv[1], sys.argv[2]
sys.exit(0 if all(digest(os.path.join(a, n + ".tar")) == digest(os.path.join(b, n + ".tar"))
                  for n in sys.argv[3:]) else 1)
EOF
}
# rerun NAME DIR: runs case_NAME once more, untimed, and leaves its outputs in DIR.
rerun() {
	rm -rf "$O" "$2" && mkdir -p "$O" && "case_$1" >/dev/null 2>&1 && mv "$O" "$2"
}
if [ -z "${FAILED[rs_edits]:-}" ] && [ -z "${FAILED[py_reshard]:-}" ]; then
	if rerun py_reshard "$KEEP/py" && rerun rs_edits "$KEEP/rs" &&
		same_members "$KEEP/py" "$KEEP/rs" "${NAMES[@]}"; then
		CHECKS+=("reshard (30% edits) members equal the python copy's: yes")
	else
		CHECKS+=("reshard (30% edits) members equal the python copy's: NO")
	fi
	rm -rf "$KEEP/py" "$KEEP/rs"
fi
if [ -z "${FAILED[rs]:-}" ]; then
	if rerun rs "$KEEP/rs" && same_members "$MAIN/shards" "$KEEP/rs" "${NAMES[@]}"; then
		CHECKS+=("reshard (no edits) members equal the input's: yes")
	else
		CHECKS+=("reshard (no edits) members equal the input's: NO")
	fi
	rm -rf "$KEEP/rs"
fi

# ---- peak memory: 1 vs 16 shards, and small vs large shards ----

RSS_SH=("$RSSD"/shards/*.tar)
# rss NAME CMD...: peak RSS in KiB of one run, or "ERR".
rss() {
	local name=$1
	shift
	rm -rf "$O"
	if "$MAXRSS" "$W/log/$name.rss" "$@" >"$W/log/$name.out" 2>"$W/log/$name.err"; then
		cat "$W/log/$name.rss"
	else
		echo "bench: peak-memory run $name failed:" >&2
		tail -n 5 "$W/log/$name.err" >&2
		echo ERR
	fi
}
echo "bench: peak memory runs"
R_SCAN_1=$(rss scan1 "$TOOL" scan "${RSS_SH[0]}" -o "$O" -j "$JOBS")
R_SCAN_16=$(rss scan16 "$TOOL" scan "${RSS_SH[@]}" -o "$O" -j "$JOBS")
R_SCAN_BIG=$(rss scanbig "$TOOL" scan "${SH[0]}" -o "$O" -j "$JOBS")
R_RS_1=$(rss rs1 "$TOOL" reshard "${RSS_SH[0]}" -e "$RSSD/edits" -o "$O" -j "$JOBS" --no-fsync)
R_RS_16=$(rss rs16 "$TOOL" reshard "${RSS_SH[@]}" -e "$RSSD/edits" -o "$O" -j "$JOBS" --no-fsync)
if [ "$JOBS" -gt 1 ] && [ "$JOBS" -lt "$RSS_SHARDS" ]; then
	# One shard keeps only one worker busy; JOBS shards show the per-worker
	# memory, so growth beyond that is what "flat" is about.
	R_SCAN_J=$(rss scanj "$TOOL" scan "${RSS_SH[@]:0:JOBS}" -o "$O" -j "$JOBS")
	R_RS_J=$(rss rsj "$TOOL" reshard "${RSS_SH[@]:0:JOBS}" -e "$RSSD/edits" -o "$O" -j "$JOBS" --no-fsync)
fi
R_RS_BIG=$(rss rsbig "$TOOL" reshard "${SH[0]}" -e "$EDITS" -o "$O" -j "$JOBS" --no-fsync)
rm -rf "$O"

# ---- report ----

# median_of "V...": the median of the numbers, as given (empty for none).
median_of() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# min_of "V...": the smallest of the numbers (empty for none).
min_of() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g | head -n 1
}
# median NAME: median of the case's runs in seconds, empty when it failed.
median() {
	[ -n "${FAILED[$1]:-}" ] && return
	local m
	m=$(median_of "${TIMES[$1]:-}")
	[ -n "$m" ] && awk -v m="$m" 'BEGIN { printf "%.3f", m / 1e6 }'
}
declare -A MED=()
echo
printf '%-32s %9s %9s   %s\n' "case" "median s" "MB/s" "runs (s; CPU s under each)"
for c in old_scan old_scan_1 old_scan_2 "${CASES[@]:1}"; do
	MED[$c]=$(median "$c")
	if [ -z "${MED[$c]}" ]; then
		printf '%-32s %9s\n' "${LABEL[$c]}" "FAILED"
		continue
	fi
	runs=$(tr ' ' '\n' <<<"${TIMES[$c]:-}" | grep . | awk '{ printf "%.3f ", $1 / 1e6 }')
	printf '%-32s %9s %9.0f   %s\n' "${LABEL[$c]}" "${MED[$c]}" \
		"$(awk -v b="$IN_BYTES" -v t="${MED[$c]}" 'BEGIN { print b / 1e6 / t }')" "$runs"
	# CPU time (user + system, all processes) of the same runs: a run
	# slowed by host faults burns system time, one that waits does not.
	if [ -n "${CPU[$c:1]:-}" ]; then
		cpus=
		for ((r = 1; r <= REPEAT; r++)); do
			cpus+=$(awk -v u="${CPU[$c:$r]:-}" 'BEGIN { printf (u == "" ? "- " : "%.3f "), u / 1e6 }')
		done
		printf '%-32s %9s %9s   %s\n' "" "" "" "$cpus"
	fi
done

# verdict LABEL RATIO KIND TARGET: KIND "faster" prints "Nx faster" and needs
# RATIO >= TARGET; KIND "within" prints "Nx" and needs RATIO <= TARGET.
verdict() {
	awk -v l="$1" -v r="$2" -v k="$3" -v t="$4" 'BEGIN {
		if (k == "faster")
			printf "%-47s: %-26s %-17s %s\n", l, sprintf("%.1fx faster", r),
				sprintf("(target >= %gx)", t), (r >= t ? "PASS" : "FAIL")
		else
			printf "%-47s: %-26s %-17s %s\n", l, sprintf("%.2fx", r),
				sprintf("(target <= %gx)", t), (r <= t ? "PASS" : "FAIL")
	}'
}
na() { printf '%-47s: %-26s %-17s %s\n' "$1" "n/a (a run failed)" "" FAIL; }
# ratio LABEL NUM DEN KIND TARGET: NUM's fastest run against DEN's fastest
# run decides; the median over rounds of the two runs' ratio in that round
# is shown under it. Our VMs hand free memory back to the host at once
# (Firecracker page reporting, min_free_ms 0): a run whose writes land on
# such pages pays a host fault per page and takes 3-8x as long, for cp as
# for hybridize (seen: from none to all 7 runs of a case). Such a
# delay only ever adds time, so each side's fastest run is the one measure
# of the work itself that it leaves alone; a median of ratios still swings
# with whichever side drew more slow runs.
ratio() {
	local label=$1 num=$2 den=$3 kind=$4 target=$5 r list=
	if [ -n "${FAILED[$num]:-}" ] || [ -n "${FAILED[$den]:-}" ]; then
		na "$label"
		return
	fi
	verdict "$label" "$(awk -v n="$(min_of "${TIMES[$num]}")" -v d="$(min_of "${TIMES[$den]}")" \
		'BEGIN { print n / d }')" "$kind" "$target"
	for ((r = 1; r <= REPEAT; r++)); do
		list+=" $(awk -v n="${TR[$num:$r]}" -v d="${TR[$den:$r]}" 'BEGIN { print n / d }')"
	done
	printf '%-47s  %s\n' "" "$(awk -v r="$(median_of "$list")" -v k="$kind" 'BEGIN {
		printf "median of the rounds: %s", (k == "faster") ? sprintf("%.1fx faster", r) : sprintf("%.2fx", r) }')"
}
# slow_runs: how many runs of each timed case took over 1.5x its fastest,
# to show how much the machine disturbed this run.
slow_runs() {
	local c line=
	for c in "${CASES[@]}"; do
		[ -n "${FAILED[$c]:-}" ] && continue
		line+=" $c $(tr ' ' '\n' <<<"${TIMES[$c]}" | grep . |
			awk -v m="$(min_of "${TIMES[$c]}")" '{ n += ($1 > 1.5 * m) }
				END { printf "%d/%d", n, NR }')"
	done
	echo "runs over 1.5x their case's fastest:$line"
}
echo
echo "summary: ${#SH[@]} x $SAMPLES samples, -j $JOBS, page cache warm, $REPEAT rounds; each ratio"
echo "is of the two cases' fastest runs (see ratio() in bench/run.sh for why)"
slow_runs
ratio "scan      vs tar -x + python" old_scan scan faster 20
ratio "scan      vs bsdtar -tf" scan bsdtar within 1.5
ratio "reshard   vs cp         (no edits, --no-fsync)" rs cp within 1.3
ratio "reshard   vs cp         (30% edits, --no-fsync)" rs_edits cp within 1.3
ratio "reshard   vs cp + sync  (no edits, fsync)" rs_fsync cp_sync within 1.3
ratio "reshard   vs cp + sync  (30% edits, fsync)" rs_edits_fsync cp_sync within 1.3
ratio "reshard   vs python tarfile (30% edits)" py_reshard rs_edits faster 5
if [ "$COLD" = 1 ]; then
	ratio "scan      vs bsdtar -tf (cold cache)" scan_cold bsdtar_cold within 1.5
	ratio "reshard   vs cp         (cold, no edits)" rs_cold cp_cold within 1.3
else
	echo "cold-cache cases skipped: dropping the page cache needs root"
fi
rss_line() { # LABEL A B: peak RSS going from A to B KiB, B/A against 1.2
	local label=$1 a=$2 b=$3
	if [ "$a" = ERR ] || [ "$b" = ERR ]; then
		na "$label"
		return
	fi
	awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN {
		r = b / a
		printf "%-47s: %-26s %-17s %s\n", l, sprintf("%d -> %d KiB, %.2fx", a, b, r),
			"(target <= 1.2x)", (r <= 1.2 ? "PASS" : "FAIL")
	}'
}
rss_line "peak RSS  scan 1 -> $RSS_SHARDS shards" "$R_SCAN_1" "$R_SCAN_16"
rss_line "peak RSS  reshard 1 -> $RSS_SHARDS shards" "$R_RS_1" "$R_RS_16"
if [ -n "${R_SCAN_J:-}" ]; then
	rss_line "peak RSS  scan $JOBS -> $RSS_SHARDS shards" "$R_SCAN_J" "$R_SCAN_16"
	rss_line "peak RSS  reshard $JOBS -> $RSS_SHARDS shards" "$R_RS_J" "$R_RS_16"
fi
rss_line "peak RSS  scan $RSS_SAMPLES -> $SAMPLES samples/shard" "$R_SCAN_1" "$R_SCAN_BIG"
rss_line "peak RSS  reshard $RSS_SAMPLES -> $SAMPLES samples/shard" "$R_RS_1" "$R_RS_BIG"
for c in "${CHECKS[@]}"; do
	echo "check: $c"
done
T_END=${EPOCHREALTIME/./}
echo "bench: done in $(((T_END - T_START) / 1000000)) s; shards kept in $DATA for the next run"
if [ ${#FAILED[@]} -gt 0 ] || [[ " $R_SCAN_1 $R_SCAN_16 $R_SCAN_BIG $R_RS_1 $R_RS_16 $R_RS_BIG " == *" ERR "* ]]; then
	echo "bench: some runs failed (see the errors above)" >&2
	exit 1
fi
exit 0
