#!/usr/bin/env bash
# A shard cut in the middle of a member body, and one cut in the middle of
# a member header: each command exits 2, names the file, an offset (where
# the damage is) and the reason, writes no output and no temporary file for
# it; the other shards of the same run finish with correct output.
TEST_NAME=bad_truncated_shard
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

src=$SHARDS/00000001.tar
tt offsets "$src" >offs.txt
# member 3 (000000010001.jpg): cut half-way through its body
read -r _ bh bdata bsize _ < <(awk '$1 == 3' offs.txt)
cut_body=$((bdata + bsize / 2))
head -c "$cut_body" "$src" >tbody.tar
# member 20: cut 200 bytes into its 512-byte header
read -r _ hh _ _ _ < <(awk '$1 == 20' offs.txt)
cut_hdr=$((hh + 200))
head -c "$cut_hdr" "$src" >thead.tar

# a gzip-compressed shard cut in the middle of its compressed stream
gzip -c "$SHARDS/00000001.tar" | head -c 300000 >tgz.tar.gz

offset_in() { # FILE LO HI
	local o
	o=$(grep -F "$1" err.txt | grep -Eo 'offset [0-9]+' | head -1 | cut -d' ' -f2)
	[ -n "$o" ] && [ "$o" -ge "$2" ] && [ "$o" -le "$3" ]
}
absent() { # DIR NAME: neither output nor temporary for NAME
	[ -z "$(ls -A "$1" | grep -F "$2")" ]
}

for cmd in scan reshard extract; do
	run_hy "$cmd" "$SHARDS/00000000.tar" tbody.tar thead.tar tgz.tar.gz \
		"$SHARDS/00000002.tar" -o "$cmd" -j 2 -q
	expect_rc 2 "$cmd with three truncated shards among good ones"
	expect_err "tgz\.tar\.gz.*([Tt]runcated|end of file|EOF)" \
		"$cmd: cut .tar.gz: stderr names the file and the reason"
	check "$cmd: nothing for tgz" absent "$cmd" tgz
	expect_err "tbody\.tar.*offset [0-9]+.*([Tt]runcated|end of file|EOF)" \
		"$cmd: body cut: stderr names the file, an offset and the reason"
	expect_err "thead\.tar.*offset [0-9]+.*([Tt]runcated|end of file|EOF)" \
		"$cmd: header cut: stderr names the file, an offset and the reason"
	check "$cmd: body cut: offset within the cut member ($bh..$cut_body)" \
		offset_in tbody.tar "$bh" "$cut_body"
	check "$cmd: header cut: offset within the cut header ($hh..$cut_hdr)" \
		offset_in thead.tar "$hh" "$cut_hdr"
	check "$cmd: no temporary files left" no_hidden "$cmd"
	check "$cmd: nothing for tbody" absent "$cmd" tbody
	check "$cmd: nothing for thead" absent "$cmd" thead
	check "$cmd: summary says 3 failed" grep -Eq "failed +3\$" out.txt
done
for n in 00000000 00000002; do
	check "scan: $n.json still correct" json_eq "scan/$n.json" "$FIX/expected/captions/$n.json"
	check "reshard: $n.tar still equal to its input" tt eq "reshard/$n.tar" "$SHARDS/$n.tar"
	mkdir -p "ref/$n" && tar -xf "$SHARDS/$n.tar" -C "ref/$n"
	check "extract: $n/ equal to tar -x" diff -r "extract/$n" "ref/$n"
done
finish
