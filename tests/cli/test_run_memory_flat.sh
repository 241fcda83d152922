#!/usr/bin/env bash
# Memory stays flat in the samples of a shard (SPEC.md): `run` over one
# shard of N small samples, for two N, must not grow its peak RSS by more
# than a bound a sample. With a third of the samples face samples it grew
# by 517 bytes a sample (a whole-tree parse of every stage file, a copy of
# every face sample's KEY.json in generate, an allocation per key, path
# and reason, the stages' freed memory kept per thread); now by ~107
# (27 in the ASan build, whose allocator gives memory back). What stays
# a sample, and why, is in README.md ("Memory"). About 30 s here; the
# check is on memory, never on time.
TEST_NAME=run_memory_flat
. "$(dirname "$0")/lib.sh"

MAXRSS=$ROOT/build/maxrss
IMGTOOL=$ROOT/build/imgtool
[ -x "$MAXRSS" ] && [ -x "$IMGTOOL" ] || { fail "build/maxrss or build/imgtool missing (make tools)"; finish; }

N1=${N1:-20000}
N2=${N2:-200000}
BOUND=${BOUND:-200} # bytes a sample

# One photo of the fixtures shrunk to a few hundred bytes: every sample
# shares it, so a shard of 200k samples is 2 KiB a sample on disk.
python3 - "$SHARDS/00000000.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = next(m for m in t if m.name.endswith(".jpg"))
    open("photo.jpg", "wb").write(t.extractfile(m).read())
PY
"$IMGTOOL" reencode photo.jpg tiny.jpg 5 32 || fail "cannot shrink the photo"

measure() { # N: peak RSS in KiB of `run` over one shard of N samples
	mkdir -p "in$1"
	python3 "$ROOT/tests/cli/tartool.py" tiny "in$1/00000000.tar" "$1" 3 tiny.jpg
	# An ASan build keeps freed memory in quarantine: off, as it would
	# count as ours.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
		"$MAXRSS" "rss$1.txt" "$HY" run "in$1" -w "w$1" --api none --lang any \
		--image-api none --leftover blur --no-fsync -q >"out$1.txt" 2>"err$1.txt"
	rc=$?
	expect_rc 0 "run over $1 samples"
	rm -rf "in$1" "w$1" # the disk space, for the next one
}

measure "$N1"
measure "$N2"
r1=$(cat "rss$N1.txt" 2>/dev/null || echo 0)
r2=$(cat "rss$N2.txt" 2>/dev/null || echo 0)
slope=$(((r2 - r1) * 1024 / (N2 - N1)))
echo "# peak RSS $((r1 / 1024)) MiB at $N1 samples, $((r2 / 1024)) MiB at $N2: $slope bytes a sample"
check "peak RSS grows by $slope bytes a sample, under $BOUND" \
	test "$r1" -gt 0 -a "$r2" -gt 0 -a "$slope" -lt "$BOUND"

finish
