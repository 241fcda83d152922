#!/usr/bin/env bash
# A sample whose face_bboxes is missing, null or not a list has no faces:
# it is not a face sample, yet it is no error and the shard succeeds.
TEST_NAME=scan_face_bboxes
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

tt build s.tar <<'PY'
[
 ("a.jpg", "img"), ("a.json", '{"caption": "has one", "face_bboxes": [[0.1,0.2,0.3,0.4]]}'),
 ("b.jpg", "img"), ("b.json", '{"caption": "missing"}'),
 ("c.jpg", "img"), ("c.json", '{"caption": "null", "face_bboxes": null}'),
 ("d.jpg", "img"), ("d.json", '{"caption": "number", "face_bboxes": 3}'),
 ("e.jpg", "img"), ("e.json", '{"caption": "string", "face_bboxes": "[[0,0,1,1]]"}'),
 ("f.jpg", "img"), ("f.json", '{"caption": "object", "face_bboxes": {"0": [0,0,1,1], "1": [0,0,1,1]}}'),
 ("g.jpg", "img"), ("g.json", '{"caption": "empty", "face_bboxes": []}'),
 ("h.jpg", "img"), ("h.json", '{"caption": "has two", "face_bboxes": [[0,0,1,1],[0,0,0.5,0.5]]}'),
 ("i.jpg", "img"), ("i.json", '{"caption": "true", "face_bboxes": true}'),
]
PY
run_hy scan s.tar -o cap -q
expect_rc 0 "scan of a shard with odd face_bboxes"
cat >want.json <<'J'
{"a.json": "has one", "h.json": "has two"}
J
check "only a and h (real lists with boxes) are face samples" json_eq cap/s.json want.json
nogrep() { ! grep -Eiq -- "$1" "$2"; }
check "no error is reported for odd face_bboxes" nogrep "error|invalid|sample '" err.txt
check "summary counts 9 samples" \
	grep -Eq "samples +9\$" out.txt
check "summary counts 2 face samples" grep -Eq "face samples +2\$" out.txt

# --min-faces 0 keeps them all (each has metadata), with their captions.
run_hy scan s.tar -o cap0 --min-faces 0 -q
expect_rc 0 "scan --min-faces 0"
tt captions s.tar 0 >want0.json
check "--min-faces 0 keeps all 9 samples" json_eq cap0/s.json want0.json
check "and python agrees there are 9" python3 -c \
	'import json,sys; sys.exit(len(json.load(open("want0.json"))) != 9)'
finish
