#!/usr/bin/env bash
# Resume: a re-run skips shards whose output exists (summary "already
# done", output untouched: same mtime and bytes); leftover temporaries of a
# killed run (.NAME.json.part, .NAME.tar.part, extract's .NAME.part/) are
# replaced without being reported; no .*.part remains after a run.
TEST_NAME=resume
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
mt() { stat -c %y "$1"; }
no_part() { [ -z "$(find "$1" -name '.*.part*')" ]; }

for cmd in scan reshard extract; do
	case $cmd in
	scan) ext=.json ;;
	reshard) ext=.tar ;;
	extract) ext= ;;
	esac
	o=$cmd
	# A killed run left a partial 00000001 output behind.
	mkdir -p "$o"
	if [ "$cmd" = extract ]; then
		mkdir -p "$o/.00000001.part/junk" && echo half >"$o/.00000001.part/000000010000.jpg"
	else
		echo 'half a file' >"$o/.00000001$ext.part"
	fi
	run_hy "$cmd" "$SHARDS/00000000.tar" "$SHARDS/00000001.tar" -o "$o" -q
	expect_rc 0 "$cmd first run over a leftover .part"
	check "$cmd: leftover .part not reported" bash -c '! grep -q . err.txt'
	check "$cmd: no .part left after the run" no_part "$o"
	case $cmd in
	scan) check "scan: 00000001.json correct despite the leftover" \
		json_eq scan/00000001.json "$FIX/expected/captions/00000001.json" ;;
	reshard) check "reshard: 00000001.tar correct despite the leftover" \
		tt eq reshard/00000001.tar "$SHARDS/00000001.tar" ;;
	extract) mkdir -p ref && tar -xf "$SHARDS/00000001.tar" -C ref
		check "extract: 00000001/ equal to tar -x despite the leftover" diff -r extract/00000001 ref ;;
	esac
	m0=$(mt "$o/00000000$ext") m1=$(mt "$o/00000001$ext")
	cp -r "$o" "$o.before"
	sleep 0.05
	# Second run: the two are done, 00000002 is new; another leftover too.
	if [ "$cmd" = extract ]; then mkdir "$o/.00000002.part"; else
		echo junk >"$o/.00000002$ext.part"; fi
	run_hy "$cmd" "$SHARDS" -o "$o" -q
	expect_rc 0 "$cmd re-run over all three shards"
	check "$cmd: summary says 2 already done" grep -Eq "already done +2\$" out.txt
	check "$cmd: summary says 1 done" grep -Eq "^ +done +1\$" out.txt
	check "$cmd: 00000000 output untouched (mtime)" test "$(mt "$o/00000000$ext")" = "$m0"
	check "$cmd: 00000001 output untouched (mtime)" test "$(mt "$o/00000001$ext")" = "$m1"
	check "$cmd: finished outputs byte-identical" diff -r "$o.before/00000000$ext" "$o/00000000$ext"
	check "$cmd: 00000002 written" test -e "$o/00000002$ext"
	check "$cmd: no .part left" no_part "$o"
	check "$cmd: nothing reported" bash -c '! grep -q . err.txt'
	# Third run: nothing to do at all.
	run_hy "$cmd" "$SHARDS" -o "$o" -q
	expect_rc 0 "$cmd third run, all done"
	check "$cmd: summary says 3 already done" grep -Eq "already done +3\$" out.txt
done

# An existing output counts as done even if it differs: it is not redone.
mkdir fake && echo '{}' >fake/00000000.json
run_hy scan "$SHARDS/00000000.tar" -o fake -q
expect_rc 0 "scan with an existing (fake) output"
check "existing output is kept, not redone" grep -qx '{}' fake/00000000.json
finish
