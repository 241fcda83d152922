#!/usr/bin/env bash
# A sample whose face_bboxes is missing, null or empty has no faces. One
# whose face_bboxes is there but not a list (a number, a string, an
# object, true) may show faces anywhere: it is a face sample (privacy
# first, meta.h), and generate hides its whole photo. Neither is an error.
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
{"a.json": "has one", "d.json": "number", "e.json": "string",
 "f.json": "object", "h.json": "has two", "i.json": "true"}
J
check "a and h (lists with boxes) and d, e, f, i (not lists) are face samples" json_eq cap/s.json want.json
nogrep() { ! grep -Eiq -- "$1" "$2"; }
check "no error is reported for odd face_bboxes" nogrep "error|invalid|sample '" err.txt
check "summary counts 9 samples" \
	grep -Eq "samples +9\$" out.txt
check "summary counts 6 face samples" grep -Eq "face samples +6\$" out.txt

# --min-faces 0 keeps them all (each has metadata), with their captions.
run_hy scan s.tar -o cap0 --min-faces 0 -q
expect_rc 0 "scan --min-faces 0"
tt captions s.tar 0 >want0.json
check "--min-faces 0 keeps all 9 samples" json_eq cap0/s.json want0.json
check "and python agrees there are 9" python3 -c \
	'import json,sys; sys.exit(len(json.load(open("want0.json"))) != 9)'
finish
