#!/usr/bin/env bash
# A shard cut exactly at a member boundary (no end-of-archive blocks: what a
# writer killed before closing leaves) is truncated, although libarchive,
# GNU tar and bsdtar read it as a clean end. scan, reshard and extract fail
# it with exit 2, naming the file, the offset of the cut and "no
# end-of-archive", and write no output for it (no .part either); plain and
# gzip-compressed. A shard that has its end blocks is fine: with junk after
# them, or with no record padding after them.
TEST_NAME=truncated_member_boundary
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

tt gen full.tar 30 2000 1
# cut before the header of member 20, and right after the last member's body
mid=$(tt offsets full.tar | awk '$1 == 20 { print $2 }')
last=$(python3 -c '
import sys, tarfile
m = tarfile.open(sys.argv[1]).getmembers()[-1]
print(m.offset_data + (m.size + 511) // 512 * 512)' full.tar)
head -c "$mid" full.tar >cutmid.tar
head -c "$last" full.tar >cutend.tar
gzip -c cutmid.tar >cutgz.tar.gz
check "setup: cut points are inside the file and block aligned" \
	test "$mid" -gt 0 -a "$last" -gt "$mid" -a $((mid % 512)) = 0 -a \
	"$(stat -c %s full.tar)" -gt "$last"
check "setup: GNU tar reads the cut shard without complaint" bash -c 'tar -tf "$0" >/dev/null 2>&1' cutmid.tar

# good ones: end blocks then junk; end blocks without record padding
{ cat full.tar; printf 'JUNK AFTER THE END %.0s' $(seq 1 100); } >junk.tar
head -c $((last + 1024)) full.tar >nopad.tar

for cmd in scan reshard extract; do
	o=o-$cmd
	run_hy "$cmd" cutmid.tar cutend.tar cutgz.tar.gz junk.tar nopad.tar -o "$o" -q -j 2
	expect_rc 2 "$cmd: three cut shards, two good ones"
	for c in cutmid:$mid cutend:$last cutgz:$mid; do
		n=${c%%:*} off=${c#*:}
		expect_err "$cmd: $n\.tar(\.gz)?: offset $off: .*no end-of-archive" \
			"$cmd: $n named, with the offset of the cut ($off) and 'no end-of-archive'"
		check "$cmd: no output for $n" bash -c \
			'[ -z "$(ls -A "$0" | grep -F "$1")" ]' "$o" "$n"
	done
	check "$cmd: summary counts 3 failed shards" grep -Eq "failed +3\$" out.txt
	for g in junk nopad; do
		case $cmd in
		scan) check "$cmd: $g finished" test -s "$o/$g.json" ;;
		reshard) check "$cmd: $g finished with the same members" \
			bash -c '[ -f "$1" ] && python3 "$0" eq full.tar "$1"' \
			"$ROOT/tests/cli/tartool.py" "$o/$g.tar" ;;
		extract) check "$cmd: $g finished (90 files)" \
			test "$(find "$o/$g" -type f 2>/dev/null | wc -l)" = 90 ;;
		esac
	done
done
finish
