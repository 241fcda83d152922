#!/usr/bin/env bash
# Progress and summary: when stderr is not a terminal, --progress-interval S
# prints periodic plain log lines (done/total shards, samples/s, ETA; no
# terminal escapes); -q prints none; every run ends with a summary table on
# stdout listing shards (done, already done, failed), samples and failures.
TEST_NAME=progress_summary
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

# A slow-enough input that is small on disk: a .tar.gz of 15 samples whose
# KEY.json holds 25,000 face boxes (~1 MB of numbers to parse each).
python3 - <<'P'
import gzip, io, json, tarfile
meta = json.dumps({"caption": "c", "face_bboxes": [[0.123456, 0.234567,
                   0.345678, 0.456789]] * 25000}).encode()
with gzip.open("slow.tar.gz", "wb", compresslevel=1) as g:
    with tarfile.open(fileobj=g, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for i in range(15):
            ti = tarfile.TarInfo("%06d.json" % i)
            ti.size = len(meta)
            t.addfile(ti, io.BytesIO(meta))
P
run_hy scan slow.tar.gz -o cap1 --progress-interval 0.05 -j 1
expect_rc 0 "scan of a slow shard"
n=$(grep -Ec '^scan: [0-9]+/1 shards, .*samples/s.*ETA' err.txt)
check "several progress lines on stderr ($n)" test "$n" -ge 2
check "progress lines show done/total, samples/s and ETA" \
	grep -Eq '^scan: [0-9]+/1 shards, [0-9.]+k? samples, [0-9.]+k? samples/s.*ETA [0-9?]' err.txt
check "no terminal escapes when stderr is not a terminal" bash -c '! grep -q $'"'"'[\r\033]'"'"' err.txt'
check "progress goes to stderr, not stdout" bash -c '! grep -q "samples/s" out.txt'
n1=$(grep -Eo '[0-9]+ samples,' err.txt | head -1 | cut -d' ' -f1)
n2=$(grep -Eo '[0-9]+ samples,' err.txt | tail -1 | cut -d' ' -f1)
check "sample count grows between progress lines ($n1 -> $n2)" test "${n2:-0}" -gt "${n1:-0}"
check "summary counts the 15 samples" grep -Eq "^ +samples +15$" out.txt

run_hy scan slow.tar.gz -o cap2 --progress-interval 0.05 -j 1 -q
expect_rc 0 "scan -q of the slow shard"
check "-q: no progress lines" bash -c '! grep -q "shards," err.txt'

# Within one long shard the progress moves: extract of a single shard must
# show a fraction of input above 0% and a known ETA before it finishes.
tt gen one.tar 2000 1000 3
run_hy extract one.tar -o ex --progress-interval 0.02 -j 1
expect_rc 0 "extract of a single 2000-sample shard"
n=$(grep -c '^extract: 0/1 shards' err.txt)
check "progress lines while the only shard is in work ($n)" test "$n" -ge 1
check "extract: input fraction advances within a shard (not stuck at 0%)" \
	grep -Eq '^extract: 0/1 shards, .* [1-9][0-9]*% of input' err.txt
check "extract: ETA known within a shard (not '?')" \
	grep -Eq '^extract: 0/1 shards, .*ETA [0-9]' err.txt

# Summary of a clean run, with counts checked against Python.
run_hy scan "$SHARDS" -o cap -q
expect_rc 0 "scan of datacomp-mini"
faces=0
for s in "$SHARDS"/*.tar; do
	k=$(tt captions "$s" 1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	faces=$((faces + k))
done
check "summary: shards 3" grep -Eq '^ +shards +3$' out.txt
check "summary: done 3" grep -Eq '^ +done +3$' out.txt
check "summary: failed 0" grep -Eq '^ +failed +0$' out.txt
check "summary: samples 120" grep -Eq '^ +samples +120$' out.txt
check "summary: face samples $faces (Python count)" grep -Eq "^ +face samples +$faces\$" out.txt
check "summary: headline says done" grep -Eq '^hybridize scan: done in [0-9.]+ s$' out.txt
check "summary: speed" grep -Eq '^ +speed +[0-9.]+[kMG]?/s$' out.txt

# Summary of a run with failures.
: >empty.tar
run_hy reshard "$SHARDS/00000000.tar" empty.tar -o rs -q --no-fsync
expect_rc 2 "reshard with a failing shard"
check "summary: shards 2" grep -Eq '^ +shards +2$' out.txt
check "summary: failed 1" grep -Eq '^ +failed +1$' out.txt
check "summary: done 1" grep -Eq '^ +done +1$' out.txt
check "summary: headline says failures" grep -Eq '^hybridize reshard: finished with failures' out.txt
check "the failure itself is on stderr, not in the summary" grep -q 'empty\.tar' err.txt
finish
