#!/usr/bin/env bash
# A key whose members are not consecutive (a.jpg, b.jpg, a.json) is never
# silently split into two samples: the shard fails (exit 2, no output) and
# stderr names the key and the shard; other shards finish. Same stems in
# different folders (p/a, q/a) are different keys and are fine.
TEST_NAME=nonconsecutive_key
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

tt build split.tar <<PY
[("a.jpg", "ia"), ("b.jpg", "ib"), ("a.json", '{"caption": "a", $F}'),
 ("b.json", '{"caption": "b", $F}')]
PY
tt build subsplit.tar <<PY
[("x/k1.jpg", "i"), ("x/k1.json", '{"caption": "k1", $F}'),
 ("x/k2.jpg", "i"), ("x/k2.json", '{"caption": "k2", $F}'),
 ("x/k1.txt", "late")]
PY
tt build folders.tar <<PY
[("p/a.jpg", "i"), ("p/a.json", '{"caption": "pa", $F}'),
 ("q/a.jpg", "i"), ("q/a.json", '{"caption": "qa", $F}'),
 ("a.jpg", "i"), ("a.json", '{"caption": "a", $F}')]
PY
for cmd in scan reshard extract; do
	run_hy "$cmd" split.tar subsplit.tar folders.tar -o "$cmd" -j 1 -q
	expect_rc 2 "$cmd with split keys"
	expect_err "split\.tar.*'a'" "$cmd: stderr names shard split.tar and key 'a'"
	expect_err "subsplit\.tar.*'x/k1'" "$cmd: stderr names shard subsplit.tar and key 'x/k1'"
	check "$cmd: no output for split.tar" bash -c "! ls -A '$cmd' | grep -q '^\.\?split'"
	check "$cmd: no output for subsplit.tar" bash -c "! ls -A '$cmd' | grep -q 'subsplit'"
	check "$cmd: folders.tar (same stems, other folders) done" bash -c "ls '$cmd' | grep -q '^folders'"
	check "$cmd: no temporary files left" no_hidden "$cmd"
	check "$cmd: summary says 2 failed" grep -Eq "failed +2\$" out.txt
	check "$cmd: folders.tar not reported" bash -c '! grep -q folders err.txt'
done
cat >want.json <<'J'
{"p/a.json": "pa", "q/a.json": "qa", "a.json": "a"}
J
check "scan of folders.tar keeps the three keys apart" json_eq scan/folders.json want.json
finish
