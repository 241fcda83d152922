#!/usr/bin/env bash
# A big shard of members copied verbatim is copied in pieces, so that
# (1) progress moves while the copy runs: with stderr not a terminal, a
# progress line shows a percentage strictly between 0 and 100 (not only
# 100% once the one big copy is done), and (2) SIGTERM during the copy is
# seen: exit 143 within 2 s, no .part and no output (the shard is left for
# the next run, which then gives a byte-identical copy).
TEST_NAME=reshard_progress_and_stop
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

# ~320 MB plain ustar: 5000 samples with 60 KiB random bodies
tt gen big.tar 5000 61440 1
check "setup: big.tar is over 300 MB" test "$(stat -c %s big.tar)" -gt 300000000

# (1) Progress lines are read as they come; for each one showing a
# percentage strictly between 0 and 100, the size of the .part file at that
# moment is noted. Progress that moves only as headers are read (the copy
# then done in one go at the end) shows such lines before any byte is
# copied; a copy that reports as it runs shows them with the .part past
# 1 MiB. A copy takes a fraction of a second when the input is cached: a
# few tries before calling it a failure.
python3 - "$HY" big.tar prog >prog.txt 2>&1 <<'PY'
import os, re, subprocess, sys
hy, src, out = sys.argv[1:4]
part = os.path.join(out, ".big.tar.part")
for attempt in range(3):
    subprocess.run(["rm", "-rf", out])
    p = subprocess.Popen([hy, "reshard", src, "-o", out, "--progress-interval",
                          "0.05", "--no-fsync", "-j", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    mids = []
    with open("prog-err.txt", "wb") as log:
        for line in p.stderr:
            log.write(line)
            m = re.search(rb"(\d+(?:\.\d+)?)% ", line)
            if m and 0 < float(m.group(1)) < 100:
                try:
                    size = os.stat(part).st_size
                except OSError:
                    size = -1
                mids.append((m.group(1).decode(), size))
    rc = p.wait()
    print("rc %d" % rc)
    print("mid " + " ".join("%s%%@%d" % x for x in mids))
    if rc != 0 or any(size >= 1 << 20 for _, size in mids):
        break
PY
prc=$(awk '$1 == "rc" { print $2 }' prog.txt | tail -1)
mids=$(sed -n 's/^mid //p' prog.txt | tail -1)
check "reshard with --progress-interval 0.05 exits 0 (got ${prc:-none})" test "${prc:-x}" = 0
check "a progress line shows a percentage between 0 and 100 (percent@part-bytes: ${mids:-none})" \
	test -n "$mids"
check "such a line comes while the copy runs (.part past 1 MiB)" python3 -c '
import sys
sys.exit(not any(int(x.split("@")[1]) >= 1 << 20 for x in sys.argv[1].split()))' "$mids"
check "the copy is byte-identical" cmp -s big.tar prog/big.tar
rm -rf prog

# (2) SIGTERM once the .part has grown past 50 MB. Python polls the file
# size in a tight loop so the signal lands in the middle of the copy; if
# the copy still ends first (an idle fast machine), it tries again.
python3 - "$HY" big.tar stop >term.txt 2>&1 <<'PY'
import os, signal, subprocess, sys, time
hy, src, out = sys.argv[1:4]
part = os.path.join(out, ".big.tar.part")
for attempt in range(6):
    subprocess.run(["rm", "-rf", out])
    with open("stop-err.txt", "w") as err:
        p = subprocess.Popen([hy, "reshard", src, "-o", out, "--no-fsync",
                              "-j", "1", "-q"],
                             stdout=subprocess.DEVNULL, stderr=err)
    seen, deadline = 0, time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        try:
            seen = os.stat(part).st_size
        except OSError:
            pass
        if seen > 50 << 20:
            break
    if p.poll() is not None:
        print("attempt %d: finished before the signal (rc %s)" % (attempt, p.returncode))
        continue
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    print("signalled at %d bytes" % seen)
    print("rc %d" % rc)
    print("secs %.3f" % (time.monotonic() - t0))
    print("left %s" % " ".join(sorted(os.listdir(out))))
    sys.exit(0)
print("never caught the copy running")
PY
srk=$(awk '$1 == "rc" { print $2 }' term.txt)
secs=$(awk '$1 == "secs" { print $2 }' term.txt)
left=$(sed -n 's/^left //p' term.txt)
check "SIGTERM was sent while the copy ran ($(grep -E 'signalled|never' term.txt))" grep -q "^signalled" term.txt
check "SIGTERM: exit 143 (got ${srk:-none})" test "${srk:-x}" = 143
check "SIGTERM: exited within 2 s (${secs:-?} s)" awk -v s="${secs:-99}" 'BEGIN { exit !(s < 2) }'
check "SIGTERM: no .part left (left: '$left')" bash -c '! grep -q part <<<"$0"' "$left"
check "SIGTERM: the copy stopped, no output committed (left: '$left')" test -z "$left"
run_hy reshard big.tar -o stop -q --no-fsync
expect_rc 0 "re-run after SIGTERM"
check "re-run: byte-identical copy" cmp -s big.tar stop/big.tar
rm -rf big.tar stop
finish
