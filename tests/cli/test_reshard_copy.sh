#!/usr/bin/env bash
# reshard without edits (no -e, or an empty edits dir, or an edits dir
# without a folder for the shard) copies every member: same names, order
# and bytes, checked with Python's tarfile and the GNU tar / bsdtar
# listings, for the DataComp shards and every tar dialect in tar-variants.
# Two inputs with the same shard name in one run are a usage error.
TEST_NAME=reshard_copy
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

same_listing() { # TOOL IN OUT
	"$1" -tf "$2" >l.in 2>/dev/null && "$1" -tf "$3" >l.out && cmp -s l.in l.out
}
readable() { tar -tf "$1" >/dev/null && bsdtar -tf "$1" >/dev/null; }

mkdir empty-edits other-edits && mkdir other-edits/unrelated-shard
echo x >other-edits/unrelated-shard/k.txt
for mode in none empty other; do
	case $mode in
	none) e=() ;;
	empty) e=(-e empty-edits --no-fsync) ;;
	other) e=(-e other-edits --no-fsync) ;;
	esac
	run_hy reshard "$SHARDS" "${e[@]}" -o "out-$mode" -q
	expect_rc 0 "reshard of datacomp-mini, edits: $mode"
	for s in "$SHARDS"/*.tar; do
		b=$(basename "$s")
		check "$mode: $b members equal (Python tarfile)" tt eq "$s" "out-$mode/$b"
		check "$mode: $b same GNU tar listing" same_listing tar "$s" "out-$mode/$b"
		check "$mode: $b same bsdtar listing" same_listing bsdtar "$s" "out-$mode/$b"
	done
	check "$mode: summary says 0 edited members" grep -Eq "edited members +0\$" out.txt
done

i=0
for v in "$FIX"/tar-variants/*; do
	b=$(basename "$v")
	i=$((i + 1))
	run_hy reshard "$v" -o "v$i" -q --no-fsync
	expect_rc 0 "reshard of $b"
	n=${b%.gz}
	n=${n%.tar}
	out=v$i/$n.tar
	check "$b -> $n.tar" test -f "$out"
	check "$b: members equal (Python tarfile)" tt eq "$v" "$out"
	check "$b: same GNU tar listing" same_listing tar "$v" "$out"
	check "$b: same bsdtar listing" same_listing bsdtar "$v" "$out"
	check "$b: output readable by GNU tar and bsdtar" readable "$out"
	check "$b: same verbose listing (modes, owners, sizes, times)" bash -c \
		'cmp -s <(tar -tvf "$0") <(tar -tvf "$1")' "$v" "$out"
done

# Input without end-of-archive blocks is a shard cut at a member boundary
# (what a writer killed before closing leaves; tar tools accept it
# silently): it fails, named, with no output. Input with junk after the
# end blocks gives a well-formed tar (ends in zero blocks, no junk) with
# the same members.
cut=$(tt offsets "$SHARDS/00000001.tar" | awk '$1 == 20 { print $2 }')
head -c "$cut" "$SHARDS/00000001.tar" >noeof.tar
{ cat "$SHARDS/00000000.tar"; printf 'JUNK AFTER THE END %.0s' $(seq 1 100); } >junk.tar
run_hy reshard noeof.tar junk.tar -o wf -q --no-fsync
expect_rc 2 "reshard of a shard without end blocks and one with trailing junk"
expect_err "noeof\.tar: offset $cut: truncated: no end-of-archive" \
	"the shard cut at a member boundary is named, with its offset"
check "noeof: no output" test ! -e wf/noeof.tar
check "junk: same members (Python)" tt eq junk.tar wf/junk.tar
check "junk: output ends with two zero blocks" bash -c \
	'[ -z "$(tail -c 1024 "$0" | tr -d "\0")" ]' wf/junk.tar
check "junk: output size is a multiple of 512" test $(($(stat -c %s wf/junk.tar) % 512)) = 0
check "junk: no junk copied" bash -c '! grep -aq "JUNK AFTER" wf/junk.tar'
run_hy scan noeof.tar -o wfs -q
expect_rc 2 "scan of a shard cut at a member boundary fails"
check "scan: no output for it" test ! -e wfs/noeof.json

run_hy reshard "$FIX/tar-variants/python-ustar.tar" "$FIX/tar-variants/python-ustar.tar.gz" -o both -q
expect_rc 1 "python-ustar.tar and .tar.gz in one run"
expect_err "python-ustar\.tar.*python-ustar\.tar\.gz|python-ustar\.tar\.gz.*python-ustar\.tar" \
	"the collision names both inputs"
check "nothing written on a name collision" test -z "$(ls -A both 2>/dev/null)"
finish
