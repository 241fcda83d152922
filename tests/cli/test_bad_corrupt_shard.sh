#!/usr/bin/env bash
# A shard whose 10th member header is damaged (checksum overwritten): each
# command (scan, reshard, extract) exits 2, names the file, the offset of
# the damaged header and the reason, writes no output and leaves no
# temporary file for it, and the other shards of the same run finish with
# correct output.
TEST_NAME=bad_corrupt_shard
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

cp "$SHARDS/00000001.tar" corrupt.tar && chmod u+w corrupt.tar
hdr=$(tt offsets corrupt.tar | awk '$1 == 9 { print $2 }')
tt poke corrupt.tar $((hdr + 148)) 'garbage!'
check "setup: GNU tar now rejects the shard" \
	bash -c '! tar -tf corrupt.tar >/dev/null 2>&1'

# offset_in LO HI: stderr line about corrupt.tar gives an offset in [LO, HI].
offset_in() {
	local o
	o=$(grep 'corrupt\.tar' err.txt | grep -Eo 'offset [0-9]+' | head -1 | cut -d' ' -f2)
	[ -n "$o" ] && [ "$o" -ge "$1" ] && [ "$o" -le "$2" ]
}

for cmd in scan reshard extract; do
	run_hy "$cmd" "$SHARDS/00000000.tar" corrupt.tar "$SHARDS/00000002.tar" \
		-o "$cmd" -j 2 -q
	expect_rc 2 "$cmd with a corrupt shard among good ones"
	expect_err "corrupt\.tar.*offset [0-9]+.*([Dd]amaged|checksum|[Cc]orrupt|[Ii]nvalid)" \
		"$cmd: stderr names the file, an offset and the reason"
	check "$cmd: the offset is that of the damaged header ($hdr)" offset_in "$hdr" $((hdr + 512))
	check "$cmd: no temporary files left" no_hidden "$cmd"
	check "$cmd: summary says 1 failed" grep -Eq "failed +1\$" out.txt
done
check "scan: no captions for the corrupt shard" test ! -e scan/corrupt.json
check "reshard: no output for the corrupt shard" test ! -e reshard/corrupt.tar
check "extract: no folder for the corrupt shard" test ! -e extract/corrupt
for n in 00000000 00000002; do
	check "scan: $n.json still correct" json_eq "scan/$n.json" "$FIX/expected/captions/$n.json"
	check "reshard: $n.tar still equal to its input" tt eq "reshard/$n.tar" "$SHARDS/$n.tar"
	mkdir -p "ref/$n" && tar -xf "$SHARDS/$n.tar" -C "ref/$n"
	check "extract: $n/ equal to tar -x" diff -r "extract/$n" "ref/$n"
done
finish
