#!/usr/bin/env bash
# reshard pads its output to whole 10 KiB records. When the members are
# rewritten through the writer's 1 MiB buffer (a GNU-format input, or any
# .tar.gz) and the final padding would cross the end of that buffer, the
# buffer is flushed first (it used to be overrun: a crash or a heap
# overflow). 1536 bytes per member (512 header + 1 KiB body): 680 and 681
# members put the end of the archive just under 1 MiB with more padding
# than fits; the counts around them check the other edges (682 fills the
# buffer exactly). The output has the same members, is a multiple of
# 10240 bytes and reads back with GNU tar and bsdtar.
TEST_NAME=reshard_record_padding
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
readable() { tar -tf "$1" >/dev/null 2>&1 && bsdtar -tf "$1" >/dev/null 2>&1; }
spec() { # N: N members of 1 KiB, NNNNNN.txt
	python3 -c 'import sys; n = int(sys.argv[1]); print([("%06d.txt" % i, ("%06d" % i) * 170 + "abcd") for i in range(n)])' "$1"
}

for n in 678 679 680 681 682 683 700; do
	spec "$n" | tt build "gnu$n.tar" gnu
	spec "$n" | tt build "plain$n.tar" ustar
	gzip -c "plain$n.tar" >"gz$n.tar.gz"
done
check "setup: GNU-format input (magic 'ustar  ')" bash -c \
	'[ "$(head -c 265 gnu681.tar | tail -c 8 | tr "\0" "@")" = "ustar  @" ]'
check "setup: 681 members of 1024 bytes" bash -c \
	'[ "$(tar -tvf gnu681.tar | awk "\$3 == 1024" | wc -l)" = 681 ]'

for n in 678 679 680 681 682 683 700; do
	for f in "gnu$n.tar" "gz$n.tar.gz"; do
		o=out-${f%%.*}
		run_hy reshard "$f" -o "$o" -q --no-fsync
		expect_rc 0 "reshard of $f ($n members of 1 KiB)"
		out=$o/${f%%.*}.tar
		if [ ! -f "$out" ]; then
			fail "$f: no output $out"
			continue
		fi
		check "$f: same members (Python tarfile)" tt eq "$f" "$out"
		sz=$(stat -c %s "$out")
		check "$f: output size $sz is a multiple of 10240" test $((sz % 10240)) = 0
		check "$f: output ends in zero blocks" bash -c \
			'[ -z "$(tail -c 1024 "$0" | tr -d "\0")" ]' "$out"
		check "$f: output readable by GNU tar and bsdtar" readable "$out"
		check "$f: $n members listed by GNU tar" test "$(tar -tf "$out" | wc -l)" = "$n"
		check "$f: no .part left" test -z "$(ls -A "$o" | grep -v "^${f%%.*}\.tar\$")"
	done
done
finish
