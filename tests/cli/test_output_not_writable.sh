#!/usr/bin/env bash
# An output directory that cannot be used is a configuration error found
# before any work: -o under a regular file (ENOTDIR), -o naming a regular
# file, and a read-only (555) directory for a non-root user: exit 1 (the
# read-only case may say 2), a message naming the path, nothing written.
TEST_NAME=output_not_writable
. "$(dirname "$0")/lib.sh"

echo "a regular file" >plain
for cmd in scan reshard extract; do
	run_hy "$cmd" "$SHARDS/00000000.tar" -o plain/sub -q
	expect_rc 1 "$cmd -o under a regular file"
	expect_err "plain(/sub)?'?:? .*(Not a directory|not a directory)" "$cmd: message names the path and says why"
	check "$cmd: nothing started (no summary on stdout)" bash -c '! grep -q "samples" out.txt'
	run_hy "$cmd" "$SHARDS/00000000.tar" -o plain -q
	expect_rc 1 "$cmd -o naming a regular file"
	expect_err "'?plain'?:? .*(Not a directory|not a directory)" "$cmd: message names the file"
	check "$cmd: the regular file is untouched" grep -qx "a regular file" plain
done
check "no stray files next to the regular file" bash -c '[ "$(ls -A | grep -v -e "^out.txt$" -e "^err.txt$")" = plain ]'

AS=()
if [ "$(id -u)" = 0 ]; then
	if ! command -v setpriv >/dev/null; then
		echo "ok - $TEST_NAME: read-only output dir # SKIP setpriv not installed (needed to drop root)"
		finish
	fi
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 755 "$T"
	if ! "${AS[@]}" /bin/sh -c 'cd "$1" && "$2" --help && test -r "$3"' sh "$T" "$HY" \
		"$SHARDS/00000000.tar" >/dev/null 2>&1; then
		echo "ok - $TEST_NAME: read-only output dir # SKIP user nobody cannot reach $T, $HY or the fixtures"
		finish
	fi
fi
run_as() { "${AS[@]}" "$HY" "$@" >out.txt 2>err.txt; rc=$?; }
mkdir ro && chmod 555 ro
for cmd in scan reshard extract; do
	run_as "$cmd" "$SHARDS/00000000.tar" -o ro -q
	check "$cmd -o read-only dir: exit 1 or 2 (got $rc)" test "$rc" = 1 -o "$rc" = 2
	expect_err "'?ro'?:? .*([Pp]ermission denied|not writable|[Rr]ead-only)" "$cmd: message names the dir and the reason"
	run_as "$cmd" "$SHARDS/00000000.tar" -o ro/sub -q
	check "$cmd -o ro/sub: exit 1 (got $rc)" test "$rc" = 1
	expect_err "'?ro/sub'?:? .*[Pp]ermission denied" "$cmd: message names ro/sub and the reason"
done
check "nothing was written in the read-only dir" test -z "$(ls -A ro)"
finish
