#!/usr/bin/env bash
# Disk full while writing: a file-size limit (ulimit -f: write fails with
# EFBIG once hybridize ignores SIGXFSZ, which would otherwise kill it with
# its temporaries left behind) and a small tmpfs (ENOSPC), for scan
# (captions), generate (edits), reshard (shard tar) and run. Each time:
# exit 2, the message names the file and says "File too large" / "No space
# left on device", every final output present is complete (equal to a clean
# run's), no temporary file is left, and a re-run with room finishes with
# outputs equal to the clean run's.
TEST_NAME=res_disk_full
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/res_lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
shopt -s nullglob dotglob

MNT=$T/mnt
trap 'umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; stop_fakes; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

OFF=(--api none --lang any --image-api none --leftover blur)
GEN=(--image-api none --leftover blur)

# run_fsize KIB ARGS...: runs the binary with a file-size limit of KIB KiB
# (its own process only: out.txt and err.txt go through pipes, written by
# cat without the limit); sets rc.
run_fsize() {
	local kib=$1
	shift
	{ (ulimit -f "$kib" && exec "$HY" "$@" 2>&3) | cat >out.txt; echo "${PIPESTATUS[0]}" >rc.txt; } 3>&1 | cat >err.txt
	rc=$(cat rc.txt)
}

# Clean runs to compare with: the separate stages and run.
"$HY" scan "$SHARDS" -o ref/captions -q >/dev/null
"$HY" generate -s "$SHARDS" -o ref/edits "${GEN[@]}" -q >/dev/null
"$HY" reshard "$SHARDS" -e ref/edits -o ref/shards -q >/dev/null
"$HY" run "$SHARDS" -w refrun "${OFF[@]}" -q >/dev/null
check "clean runs made their outputs" test -s ref/shards/00000002.tar -a -s refrun/shards/00000002.tar

size_kib() { echo $((($(stat -c %s "$1") + 1023) / 1024)); }
cap0=$(size_kib ref/captions/00000000.json)
tar0=$(size_kib ref/shards/00000000.tar)
# The limits below let shard 0's output through and stop shard 1's.
check "fixture sizes suit the limits (shard 1 outputs larger than shard 0's)" \
	test "$(stat -c %s ref/captions/00000001.json)" -gt $((cap0 * 1024)) -a \
	"$(stat -c %s ref/shards/00000001.tar)" -gt $((tar0 * 1024))

# --- file-size limit ----------------------------------------------------------
run_fsize "$cap0" scan "$SHARDS" -o f/captions -j 1 -q
expect_rc 2 "scan past the file-size limit"
expect_err "f/captions/\.?00000001\.json(\.part)?'?: File too large" "scan: message names the captions file and the reason"
check "scan: shard 0 done, nothing under shard 1's name" test -f f/captions/00000000.json -a ! -e f/captions/00000001.json
check "scan: outputs present are complete" complete_outputs ref/captions f/captions
check "scan: no temporary left" no_temporaries f
run_hy scan "$SHARDS" -o f/captions -j 1 -q
expect_rc 0 "scan re-run without the limit"
check "scan re-run equals a clean run" same_tree ref/captions f/captions

run_fsize 16 generate -s "$SHARDS" -o f/edits "${GEN[@]}" -j 1 -q
expect_rc 2 "generate past the file-size limit"
expect_err "f/edits/\.0000000[0-2]\.part/[^ ]*'?: File too large" "generate: message names the edit file and the reason"
check "generate: no shard's folder under its final name" test -z "$(find f/edits -mindepth 1 -maxdepth 1 ! -name '.*')"
check "generate: no temporary file left" no_temporaries f
run_hy generate -s "$SHARDS" -o f/edits "${GEN[@]}" -j 1 -q
expect_rc 0 "generate re-run without the limit"
check "generate re-run equals a clean run" same_tree ref/edits f/edits

run_fsize "$tar0" reshard "$SHARDS" -e ref/edits -o f/shards -j 1 -q
expect_rc 2 "reshard past the file-size limit"
expect_err "f/shards/\.?00000001\.tar(\.part)?'?: File too large" "reshard: message names the shard file and the reason"
check "reshard: nothing under shard 1's name" test ! -e f/shards/00000001.tar
check "reshard: outputs present are complete" complete_outputs ref/shards f/shards
check "reshard: no temporary left" no_temporaries f
check "reshard: summary counts the failed and the unfinished shards" \
	bash -c 'grep -Eq "^ +failed +1$" out.txt && grep -Eq "not finished +1$" out.txt'
run_hy reshard "$SHARDS" -e ref/edits -o f/shards -j 1 -q
expect_rc 0 "reshard re-run without the limit"
check "reshard re-run equals a clean run" same_tree ref/shards f/shards

run_fsize "$tar0" run "$SHARDS" -w fr "${OFF[@]}" -j 1 -q
expect_rc 2 "run past the file-size limit"
expect_err "fr/shards/\.?00000001\.tar(\.part)?'?: File too large" "run: message names the shard file and the reason"
check "run: nothing under shard 1's name" test ! -e fr/shards/00000001.tar
check "run: outputs present are complete" complete_outputs refrun/shards fr/shards
check "run: no temporary left" no_temporaries fr
run_hy run "$SHARDS" -w fr "${OFF[@]}" -j 1 -q
expect_rc 0 "run re-run without the limit"
check "run re-run equals a clean run" same_tree refrun fr

# --- a small tmpfs (No space left on device) ----------------------------------
mkdir "$MNT"
if ! mount -t tmpfs -o size=2m tmpfs "$MNT" 2>mount.err; then
	echo "ok - $TEST_NAME: tmpfs cases # SKIP cannot mount a tmpfs here: $(head -c 200 mount.err)"
	finish
fi
# roomier KIB: more room for the re-run.
roomier() { mount -o "remount,size=${1}k" "$MNT"; }

# scan on a full file system: its first captions file cannot be written.
head -c 4m /dev/zero >"$MNT/filler" 2>/dev/null
run_hy scan "$SHARDS" -o "$MNT/captions" -j 1 -q
expect_rc 2 "scan on a full file system"
expect_err "mnt/captions/\.?0000000[0-2]\.json(\.part)?'?: No space left on device" "scan: message names the file and says the disk is full"
check "scan: no captions file, no temporary" bash -c "[ -z \"\$(ls -A '$MNT/captions')\" ]"
rm -f "$MNT/filler"
run_hy scan "$SHARDS" -o "$MNT/captions" -j 1 -q
expect_rc 0 "scan re-run with room"
check "scan re-run equals a clean run" same_tree ref/captions "$MNT/captions"
rm -rf "${MNT:?}"/*

# reshard: 2 MiB hold shard 0 (1.3 MB), not shard 1 as well.
run_hy reshard "$SHARDS" -e ref/edits -o "$MNT/shards" -j 1 -q
expect_rc 2 "reshard on a 2 MiB tmpfs"
expect_err "mnt/shards/\.?00000001\.tar(\.part)?'?: No space left on device" "reshard: message names the shard file and says the disk is full"
check "reshard: shard 0 done, nothing under shard 1's name" test -f "$MNT/shards/00000000.tar" -a ! -e "$MNT/shards/00000001.tar"
check "reshard: outputs present are complete" complete_outputs ref/shards "$MNT/shards"
check "reshard: no temporary left" no_temporaries "$MNT"
roomier 8192
run_hy reshard "$SHARDS" -e ref/edits -o "$MNT/shards" -j 1 -q
expect_rc 0 "reshard re-run with room"
check "reshard re-run equals a clean run" same_tree ref/shards "$MNT/shards"
rm -rf "${MNT:?}"/*

# generate: ~0.5 MB of edits a shard on 1 MiB.
roomier 1024
run_hy generate -s "$SHARDS" -o "$MNT/edits" "${GEN[@]}" -j 1 -q
expect_rc 2 "generate on a 1 MiB tmpfs"
expect_err "mnt/edits/\.0000000[0-2]\.part[^ ]*'?: No space left on device" "generate: message names the file and says the disk is full"
check "generate: folders present are complete" complete_outputs ref/edits "$MNT/edits"
check "generate: no temporary file left" no_temporaries "$MNT"
roomier 8192
run_hy generate -s "$SHARDS" -o "$MNT/edits" "${GEN[@]}" -j 1 -q
expect_rc 0 "generate re-run with room"
check "generate re-run equals a clean run" same_tree ref/edits "$MNT/edits"
rm -rf "${MNT:?}"/*

# run: stage files fit in 3 MiB, the second final shard does not.
roomier 3072
run_hy run "$SHARDS" -w "$MNT/w" "${OFF[@]}" -j 1 -q
expect_rc 2 "run on a 3 MiB tmpfs"
expect_err "mnt/w/[^ ]*'?: No space left on device" "run: message names the file and says the disk is full"
check "run: final shards present are complete" complete_outputs refrun/shards "$MNT/w/shards"
check "run: no temporary left" no_temporaries "$MNT"
roomier 16384
run_hy run "$SHARDS" -w "$MNT/w" "${OFF[@]}" -j 1 -q
expect_rc 0 "run re-run with room"
check "run re-run equals a clean run" same_tree refrun "$MNT/w"
finish
