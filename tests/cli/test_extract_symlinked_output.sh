#!/usr/bin/env bash
# extract into an output folder reached through a symlink ($SCRATCH often
# is one): libarchive refuses to write through symlinks, so the folder is
# resolved first; the files land in the real folder. A member that cannot
# be created (file 'a', then member 'a/b.txt') fails only its shard, named
# with the member: the other shards of the run are extracted.
TEST_NAME=extract_symlinked_output
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

tt gen g.tar 5 100 1
tt gen h.tar 4 100 2
tt build bad.tar <<'SPEC'
[("a", "file a"), ("a/b.txt", "under a")]
SPEC
mkdir real && ln -s real link

for o in link link/x; do
	run_hy extract g.tar -o "$o" -q
	expect_rc 0 "extract -o $o (link -> real)"
	r=real${o#link}
	check "-o $o: 15 files in $r/g" test "$(find "$r/g" -type f 2>/dev/null | wc -l)" = 15
	check "-o $o: bytes equal GNU tar's extraction" bash -c \
		'mkdir -p "ref$2" && tar -xf g.tar -C "ref$2" && diff -r "ref$2" "$1/g"' _ "$r" "${o//\//_}"
	check "-o $o: no .part left" test -z "$(ls -A "$r" | grep part)"
	check "-o $o: link is still a symlink" test -L link
done

run_hy extract bad.tar g.tar h.tar -o o -q -j 1
expect_rc 2 "extract of a shard with an uncreatable member, then two good ones"
expect_err "bad\.tar.*a/b\.txt" "the failure names the shard and the member"
check "bad: no output, no .part" test -z "$(ls -A o 2>/dev/null | grep bad)"
check "g extracted after the failing shard" test "$(find o/g -type f 2>/dev/null | wc -l)" = 15
check "h extracted after the failing shard" test "$(find o/h -type f 2>/dev/null | wc -l)" = 12
check "summary: 2 done, 1 failed" bash -c \
	'grep -Eq "^ +done +2\$" out.txt && grep -Eq "failed +1\$" out.txt'
finish
