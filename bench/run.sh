#!/usr/bin/env bash
# bench/run.sh: measures the scan and reshard figures of SPEC.md in one run,
# interleaving hybridize with the old pipeline and plain tools on the same
# shards and cores, and prints medians, ratios and PASS/FAIL (`make bench`).
#
# Knobs (environment): BENCH_SHARDS (4), BENCH_SAMPLES (10000 per shard),
# BENCH_DIR (build/bench/data), BENCH_REPEAT (3), JOBS (nproc),
# BENCH_RSS_SAMPLES (2000 per shard, for the 1 -> 16 shard memory check),
# HYBRIDIZE (build/hybridize).
# Exits 0 even when a target is missed (it is a measurement); 1 when it
# cannot measure (no build/hybridize, a baseline tool missing, bad knobs).
set -uo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 1

SHARDS=${BENCH_SHARDS:-4}
SAMPLES=${BENCH_SAMPLES:-10000}
REPEAT=${BENCH_REPEAT:-3}
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

# ---- helpers built here, so `make bench` needs nothing beyond this script ----

mkdir -p "$BIN" || die "cannot create $BIN"
build_helper() { # NAME LIBS...: rebuild BIN/NAME when bench/NAME.c is newer
	local name=$1
	shift
	if [ ! -x "$BIN/$name" ] || [ "bench/$name.c" -nt "$BIN/$name" ]; then
		# shellcheck disable=SC2046
		"$CC" -std=c11 -O2 -Wall -Wextra -Werror -o "$BIN/$name" "bench/$name.c" "$@" ||
			die "cannot build $BIN/$name"
	fi
}
build_helper gen_shards $(pkg-config --cflags --libs libarchive libturbojpeg) ||
	exit 1
build_helper maxrss || exit 1

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
	"$BIN/gen_shards" -o "$dir/shards" --edits "$dir/edits" --shards "$n" --samples "$per" \
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
mkdir -p "$W/noedits" "$W/log" || die "cannot create $W"

SH=("$MAIN"/shards/*.tar)
NAMES=()
for f in "${SH[@]}"; do
	b=${f##*/}
	NAMES+=("${b%.tar}")
done
EDITS=$MAIN/edits
NOEDITS=$W/noedits # empty: reshard copies every member through
IN_BYTES=$(cat "${SH[@]}" | wc -c)

# Timings are from the page cache: dropping it needs root. Read everything
# once so the first timed case does not pay for the disk.
cat "${SH[@]}" "$RSSD"/shards/*.tar >/dev/null
find "$EDITS" -type f -exec cat {} + >/dev/null

# ---- cases: setup_X is untimed, case_X is timed ----

shards0() { printf '%s\0' "${SH[@]}"; }

setup_old_scan() {
	rm -rf "$W/x" "$W/oldcap" && mkdir -p "$W/x" && (cd "$W/x" && mkdir "${NAMES[@]}")
}
case_old_scan() {
	printf '%s\n' "${NAMES[@]}" | xargs -P "$JOBS" -I{} tar -xf "$MAIN/shards/{}.tar" -C "$W/x/{}" &&
		python3 bench/old_scan.py "$W/x" "$W/oldcap"
}
setup_scan() { rm -rf "$W/cap"; }
case_scan() { "$TOOL" scan "${SH[@]}" -o "$W/cap" -j "$JOBS"; }
setup_bsdtar() { :; }
case_bsdtar() { shards0 | xargs -0 -P "$JOBS" -n 1 bsdtar -tf >/dev/null; }
setup_cp() { rm -rf "$W/cp" && mkdir -p "$W/cp"; }
case_cp() { shards0 | xargs -0 -P "$JOBS" -n 1 cp -t "$W/cp"; }
setup_cp_sync() { setup_cp; }
case_cp_sync() { case_cp && sync "$W"/cp/*.tar; }
setup_rs() { rm -rf "$W/rs"; }
setup_rs_edits() { setup_rs; }
setup_rs_fsync() { setup_rs; }
setup_rs_edits_fsync() { setup_rs; }
case_rs() { "$TOOL" reshard "${SH[@]}" -e "$NOEDITS" -o "$W/rs" -j "$JOBS" --no-fsync; }
case_rs_edits() { "$TOOL" reshard "${SH[@]}" -e "$EDITS" -o "$W/rs" -j "$JOBS" --no-fsync; }
case_rs_fsync() { "$TOOL" reshard "${SH[@]}" -e "$NOEDITS" -o "$W/rs" -j "$JOBS"; }
case_rs_edits_fsync() { "$TOOL" reshard "${SH[@]}" -e "$EDITS" -o "$W/rs" -j "$JOBS"; }
setup_py_reshard() { rm -rf "$W/py" && mkdir -p "$W/py"; }
case_py_reshard() { shards0 | xargs -0 -P "$JOBS" -n 1 python3 bench/old_reshard.py "$EDITS" "$W/py"; }

CASES=(old_scan scan bsdtar cp rs rs_edits cp_sync rs_fsync rs_edits_fsync py_reshard)
declare -A LABEL=(
	[old_scan]="old: parallel tar -x + python"
	[scan]="hybridize scan"
	[bsdtar]="bsdtar -tf"
	[cp]="cp"
	[rs]="reshard --no-fsync, no edits"
	[rs_edits]="reshard --no-fsync, 30% edits"
	[cp_sync]="cp + sync FILE..."
	[rs_fsync]="reshard (fsync), no edits"
	[rs_edits_fsync]="reshard (fsync), 30% edits"
	[py_reshard]="old: python tarfile, 30% edits"
)
declare -A TIMES FAILED

# run_case NAME: setup, flush earlier writes, then time the case (microseconds).
run_case() {
	local name=$1 t0 t1 rc
	"setup_$name" || die "setup of $name failed"
	# Write-back left by the previous case would otherwise land on this one.
	sync
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
		return
	fi
	TIMES[$name]+=" $((t1 - t0))"
}

echo "bench: ${#SH[@]} shards x $SAMPLES samples, $((IN_BYTES / 1000000)) MB, -j $JOBS," \
	"$REPEAT rounds, page cache warm (not dropped)"
for ((round = 1; round <= REPEAT; round++)); do
	printf 'bench: round %d/%d:' "$round" "$REPEAT"
	for c in "${CASES[@]}"; do
		printf ' %s' "$c"
		run_case "$c"
	done
	echo
done

# ---- outputs agree with the baselines (checked once, untimed) ----

CHECKS=()
if [ -z "${FAILED[scan]:-}" ] && [ -z "${FAILED[old_scan]:-}" ]; then
	setup_scan && case_scan >/dev/null 2>&1
	if python3 - "$W/oldcap" "$W/cap" <<'EOF'; then
import json, os, sys
old, new = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(old))
ok = names == sorted(os.listdir(new))
for n in names if ok else []:
    with open(os.path.join(old, n), encoding="utf-8") as a, open(os.path.join(new, n), encoding="utf-8") as b:
        ok = ok and json.load(a) == json.load(b)
sys.exit(0 if ok else 1)
EOF
		CHECKS+=("scan captions equal the old pipeline's: yes")
	else
		CHECKS+=("scan captions equal the old pipeline's: NO (compare $W/cap with $W/oldcap)")
	fi
fi
if [ -z "${FAILED[rs_edits]:-}" ] && [ -z "${FAILED[py_reshard]:-}" ]; then
	setup_rs && case_rs_edits >/dev/null 2>&1
	# Same member names, order and bytes as the python copy (headers may differ).
	if python3 - "$W/py" "$W/rs" <<'EOF'; then
import hashlib, os, sys, tarfile
def digest(path):
    h = hashlib.sha256()
    with tarfile.open(path) as t:
        for m in t:
            h.update(m.name.encode() + b"\0")
            if m.isfile():
                h.update(t.extractfile(m).read())
    return h.digest()
old, new = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(old))
ok = names == sorted(os.listdir(new)) and all(
    digest(os.path.join(old, n)) == digest(os.path.join(new, n)) for n in names)
sys.exit(0 if ok else 1)
EOF
		CHECKS+=("reshard (30% edits) members equal the python copy's: yes")
	else
		CHECKS+=("reshard (30% edits) members equal the python copy's: NO")
	fi
fi
rm -rf "$W/x" "$W/cp" "$W/py" "$W/rs" "$W/cap" "$W/oldcap"

# ---- peak memory: 1 vs 16 shards, and small vs large shards ----

RSS_SH=("$RSSD"/shards/*.tar)
# rss NAME CMD...: peak RSS in KiB of one run, or "ERR".
rss() {
	local name=$1
	shift
	rm -rf "$W/rss_out"
	if "$BIN/maxrss" "$W/log/$name.rss" "$@" >"$W/log/$name.out" 2>"$W/log/$name.err"; then
		cat "$W/log/$name.rss"
	else
		echo "bench: peak-memory run $name failed:" >&2
		tail -n 5 "$W/log/$name.err" >&2
		echo ERR
	fi
}
echo "bench: peak memory runs"
R_SCAN_1=$(rss scan1 "$TOOL" scan "${RSS_SH[0]}" -o "$W/rss_out" -j "$JOBS")
R_SCAN_16=$(rss scan16 "$TOOL" scan "${RSS_SH[@]}" -o "$W/rss_out" -j "$JOBS")
R_SCAN_BIG=$(rss scanbig "$TOOL" scan "${SH[0]}" -o "$W/rss_out" -j "$JOBS")
R_RS_1=$(rss rs1 "$TOOL" reshard "${RSS_SH[0]}" -e "$RSSD/edits" -o "$W/rss_out" -j "$JOBS" --no-fsync)
R_RS_16=$(rss rs16 "$TOOL" reshard "${RSS_SH[@]}" -e "$RSSD/edits" -o "$W/rss_out" -j "$JOBS" --no-fsync)
R_RS_BIG=$(rss rsbig "$TOOL" reshard "${SH[0]}" -e "$EDITS" -o "$W/rss_out" -j "$JOBS" --no-fsync)
rm -rf "$W/rss_out"

# ---- report ----

# median NAME: median of the case's runs in seconds, empty when it failed.
median() {
	[ -n "${FAILED[$1]:-}" ] && return
	tr ' ' '\n' <<<"${TIMES[$1]}" | grep . | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1e6 }'
}
declare -A MED
echo
printf '%-32s %9s %9s   %s\n' "case" "median s" "MB/s" "runs (s)"
for c in "${CASES[@]}"; do
	MED[$c]=$(median "$c")
	if [ -z "${MED[$c]}" ]; then
		printf '%-32s %9s\n' "${LABEL[$c]}" "FAILED"
		continue
	fi
	runs=$(tr ' ' '\n' <<<"${TIMES[$c]}" | grep . | awk '{ printf "%.3f ", $1 / 1e6 }')
	printf '%-32s %9s %9.0f   %s\n' "${LABEL[$c]}" "${MED[$c]}" \
		"$(awk -v b="$IN_BYTES" -v t="${MED[$c]}" 'BEGIN { print b / 1e6 / t }')" "$runs"
done

# ratio LABEL NUM DEN KIND TARGET: KIND "faster" prints NUM/DEN as "Nx faster"
# and needs >= TARGET; KIND "within" prints NUM/DEN and needs <= TARGET.
ratio() {
	local label=$1 num=$2 den=$3 kind=$4 target=$5
	if [ -z "$num" ] || [ -z "$den" ] || [ "$num" = ERR ] || [ "$den" = ERR ]; then
		printf '%-46s: %-22s %-20s %s\n' "$label" "n/a (a run failed)" "" FAIL
		return
	fi
	awk -v l="$label" -v n="$num" -v d="$den" -v k="$kind" -v t="$target" 'BEGIN {
		r = d > 0 ? n / d : 0
		if (k == "faster")
			printf "%-46s: %-22s %-20s %s\n", l, sprintf("%.1fx faster", r),
				sprintf("(target >= %gx)", t), r >= t ? "PASS" : "FAIL"
		else
			printf "%-46s: %-22s %-20s %s\n", l, sprintf("%.2fx", r),
				sprintf("(target <= %gx)", t), r <= t ? "PASS" : "FAIL"
	}'
}
echo
echo "summary (medians of $REPEAT interleaved runs, ${#SH[@]} x $SAMPLES samples," \
	"-j $JOBS, page cache warm):"
ratio "scan      vs tar -x + python" "${MED[old_scan]}" "${MED[scan]}" faster 20
ratio "scan      vs bsdtar -tf" "${MED[scan]}" "${MED[bsdtar]}" within 1.5
ratio "reshard   vs cp         (no edits, --no-fsync)" "${MED[rs]}" "${MED[cp]}" within 1.3
ratio "reshard   vs cp         (30% edits, --no-fsync)" "${MED[rs_edits]}" "${MED[cp]}" within 1.3
ratio "reshard   vs cp + sync  (no edits, fsync)" "${MED[rs_fsync]}" "${MED[cp_sync]}" within 1.3
ratio "reshard   vs cp + sync  (30% edits, fsync)" "${MED[rs_edits_fsync]}" "${MED[cp_sync]}" within 1.3
ratio "reshard   vs python tarfile (30% edits)" "${MED[py_reshard]}" "${MED[rs_edits]}" faster 5
rss_line() { # LABEL A B: "A -> B KiB" and the ratio B/A against 1.2
	local label=$1 a=$2 b=$3
	printf '%-46s: %s -> %s KiB\n' "$label" "$a" "$b"
	ratio "          (ratio)" "$b" "$a" within 1.2
}
rss_line "peak RSS  scan 1 -> $RSS_SHARDS shards" "$R_SCAN_1" "$R_SCAN_16"
rss_line "peak RSS  reshard 1 -> $RSS_SHARDS shards" "$R_RS_1" "$R_RS_16"
rss_line "peak RSS  scan $RSS_SAMPLES -> $SAMPLES samples/shard" "$R_SCAN_1" "$R_SCAN_BIG"
rss_line "peak RSS  reshard $RSS_SAMPLES -> $SAMPLES samples/shard" "$R_RS_1" "$R_RS_BIG"
for c in "${CHECKS[@]}"; do
	echo "check: $c"
done
T_END=${EPOCHREALTIME/./}
echo "bench: done in $(((T_END - T_START) / 1000000)) s; shards kept in $DATA for the next run"
exit 0
