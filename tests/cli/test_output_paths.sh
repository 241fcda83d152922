#!/usr/bin/env bash
# An empty output folder (-o "", --output=) is bad usage: exit 1 with a
# message, no crash, no sanitizer report, nothing written. reshard with the
# output folder equal to the folder of its input shards (-o DIR with
# DIR/*.tar, however spelled) would have each output be its own input (and
# count it "already done" without doing anything): exit 1 naming the
# shard, the input left unchanged and nothing written there.
TEST_NAME=output_paths
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

mkdir d
tt gen d/a.tar 3 100 1
tt gen d/b.tar 3 100 2
for cmd in scan reshard extract; do
	for o in -o= --output=; do
		if [ "$o" = -o= ]; then run_hy "$cmd" d/a.tar -o "" -q; else run_hy "$cmd" d/a.tar --output= -q; fi
		expect_rc 1 "$cmd ${o%=} ''"
		check "$cmd ${o%=} '': a message on stderr" test -s err.txt
		check "$cmd ${o%=} '': no sanitizer report" bash -c '! grep -q Sanitizer err.txt'
	done
done
check "empty -o wrote nothing" test "$(ls -A)" = "$(printf 'd\nerr.txt\nout.txt')"

mkdir -p e/a && echo "new caption" >e/a/000000000.txt
sha_before=$(sha256sum d/*)
for oe in d:none ./d/:none "$T/d/.:edits"; do
	o=${oe%:*} e=${oe##*:}
	if [ $e = none ]; then run_hy reshard d/*.tar -o "$o" -q; else
		run_hy reshard d/*.tar -e e -o "$o" -q --no-fsync
	fi
	expect_rc 1 "reshard d/*.tar -o $o ($e)"
	expect_err "(a|b)\\.tar.*input|input.*(a|b)\\.tar" \
		"-o $o ($e): the message names the shard as the input"
done
run_hy reshard d -o d -q
expect_rc 1 "reshard d -o d"
check "inputs unchanged (sha256)" test "$(sha256sum d/*)" = "$sha_before"
check "nothing written into the input folder" test "$(ls -A d)" = "$(printf 'a.tar\nb.tar')"
finish
