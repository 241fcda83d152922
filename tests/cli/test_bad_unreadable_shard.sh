#!/usr/bin/env bash
# A shard the user cannot read (mode 000): each command exits 2, names the
# file and the reason (permission denied), writes nothing for it, and the
# good shards of the same run finish. Root ignores permissions, so as root
# the tool runs as nobody through setpriv.
TEST_NAME=bad_unreadable_shard
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

AS=()
if [ "$(id -u)" = 0 ]; then
	if ! command -v setpriv >/dev/null; then
		echo "ok - $TEST_NAME: unreadable shard # SKIP setpriv not installed (needed to drop root)"
		finish
	fi
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 755 "$T"
	if ! "${AS[@]}" /bin/sh -c 'cd "$1" && "$2" --help && test -r "$3"' sh "$T" "$HY" \
		"$SHARDS/00000000.tar" >/dev/null 2>&1; then
		echo "ok - $TEST_NAME: unreadable shard # SKIP user nobody cannot reach $T, $HY or the fixtures"
		finish
	fi
fi
run_as() { "${AS[@]}" "$HY" "$@" >out.txt 2>err.txt; rc=$?; }

cp "$SHARDS/00000001.tar" locked.tar
chmod 000 locked.tar
for cmd in scan reshard extract; do
	mkdir "$cmd" && chmod 777 "$cmd"
	run_as "$cmd" "$SHARDS/00000000.tar" locked.tar "$SHARDS/00000002.tar" -o "$cmd" -j 2 -q
	expect_rc 2 "$cmd with an unreadable shard"
	expect_err "locked\.tar: .*[Pp]ermission denied" "$cmd: names the file and the reason"
	check "$cmd: summary says 1 failed" grep -Eq "failed +1\$" out.txt
	check "$cmd: nothing written for the unreadable shard" bash -c "! ls -A '$cmd' | grep -q locked"
	check "$cmd: no temporary files left" no_hidden "$cmd"
done
for n in 00000000 00000002; do
	check "scan: $n.json still correct" json_eq "scan/$n.json" "$FIX/expected/captions/$n.json"
	check "reshard: $n.tar still equal to its input" tt eq "reshard/$n.tar" "$SHARDS/$n.tar"
	check "extract: $n/ present" test -d "extract/$n"
done
finish
