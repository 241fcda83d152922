#!/usr/bin/env bash
# A non-tar file, a gzip file that holds no tar, an empty file and a
# missing file given as shards: each command exits 2, names each file with
# its reason, writes nothing for them, and the good shards of the same run
# finish with correct output.
TEST_NAME=bad_not_tar
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

for i in $(seq 1 200); do echo "this is line $i of a text file, not a tar"; done >text.tar
gzip -c text.tar >textgz.tar.gz
: >empty.tar
only_good() { # DIR: exactly the outputs of the two good shards
	[ "$(ls_stage "$1" | tr '\n' ' ')" = "$2" ]
}
for cmd in scan reshard extract; do
	case $cmd in
	scan) want="00000000.json 00000002.json " ;;
	reshard) want="00000000.tar 00000002.tar " ;;
	extract) want="00000000 00000002 " ;;
	esac
	run_hy "$cmd" "$SHARDS/00000000.tar" text.tar textgz.tar.gz empty.tar \
		missing.tar "$SHARDS/00000002.tar" -o "$cmd" -j 2 -q
	expect_rc 2 "$cmd with non-tar, empty and missing shards"
	expect_err "text\.tar: .*([Uu]nrecognized|not a tar|format)" "$cmd: non-tar named with reason"
	expect_err "textgz\.tar\.gz: .*([Uu]nrecognized|not a tar|format)" "$cmd: gzip of text named with reason"
	expect_err "empty\.tar: .*(empty|not a tar)" "$cmd: empty file named with reason"
	expect_err "missing\.tar: .*(No such file|not found|does not exist)" "$cmd: missing file named with reason"
	check "$cmd: summary says 4 failed" grep -Eq "failed +4\$" out.txt
	check "$cmd: only the good shards' outputs, no temporaries" only_good "$cmd" "$want"
	check "$cmd: no temporary files left" no_hidden "$cmd"
done
for n in 00000000 00000002; do
	check "scan: $n.json still correct" json_eq "scan/$n.json" "$FIX/expected/captions/$n.json"
	check "reshard: $n.tar still equal to its input" tt eq "reshard/$n.tar" "$SHARDS/$n.tar"
done

# Only bad shards: still exit 2 (work was attempted), not 0.
run_hy scan empty.tar -o only -q
expect_rc 2 "scan of just an empty file"
finish
