#!/usr/bin/env bash
# The caption comes from the JSON "caption" field, else from the KEY.txt
# member when "caption" is missing or null (or not a string); a face
# sample with neither gets "".
TEST_NAME=scan_caption_source
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

tt build s.tar <<PY
[
 ("a.jpg", "img"), ("a.txt", "text of a"), ("a.json", '{"caption": "json of a", $F}'),
 ("b.jpg", "img"), ("b.txt", "text of b"), ("b.json", '{$F}'),
 ("c.jpg", "img"), ("c.txt", "text of c"), ("c.json", '{"caption": null, $F}'),
 ("d.jpg", "img"), ("d.json", '{"caption": "", $F}'), ("d.txt", "text of d"),
 ("e.jpg", "img"), ("e.json", '{$F}'),
 ("f.json", '{$F}'), ("f.txt", "text of f, after its json"),
 ("g.txt", "text of g"), ("g.json", '{"caption": "json of g"}'),
]
PY
run_hy scan s.tar -o cap -q
expect_rc 0 "scan of the caption-source shard"
cat >want.json <<'J'
{"a.json": "json of a", "b.json": "text of b", "c.json": "text of c",
 "d.json": "", "e.json": "", "f.json": "text of f, after its json"}
J
check "captions: JSON field first, .txt when missing/null, \"\" when neither" \
	json_eq cap/s.json want.json
tt captions s.tar 1 >py.json
check "same as the Python computation" json_eq cap/s.json py.json
# The .txt member's bytes are used as they are (UTF-8, newlines kept).
printf 'line one\nligne deux \xc3\xa9\n' >multi.txt
tt build t.tar <<PY
[("k.txt", {"file": "multi.txt"}), ("k.json", '{$F}')]
PY
run_hy scan t.tar -o cap -q
expect_rc 0 "scan of a shard with a multi-line .txt caption"
check "multi-line UTF-8 .txt caption kept exactly" python3 -c '
import json, sys
got = json.load(open("cap/t.json", encoding="utf-8"))
sys.exit(got != {"k.json": "line one\nligne deux \u00e9\n"})'
finish
