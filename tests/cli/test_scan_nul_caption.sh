#!/usr/bin/env bash
# A NUL inside a caption (\u0000 in KEY.json, or a NUL byte in KEY.txt) is
# kept in the captions file, as the old script's json.load / json.dump
# kept it, not cut there.
TEST_NAME=scan_nul_caption
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

tt build s.tar <<PY
[
 ("a.jpg", "i"), ("a.json", '{"caption": "before\\\\u0000after", $F}'),
 ("b.jpg", "i"), ("b.json", '{"caption": "escaped \\\\\\\\u0000 backslash", $F}'),
 ("c.jpg", "i"), ("c.txt", b"txt\\x00caption"), ("c.json", '{$F}'),
]
PY
run_hy scan s.tar -o cap -q --no-fsync
expect_rc 0 "scan"
tt captions s.tar 1 >want.json
check "captions equal Python's, NULs and all" json_eq cap/s.json want.json
check "a's caption is 'before\\0after'" python3 -c '
import json, sys
d = json.load(open("cap/s.json"))
sys.exit(d["a.json"] != "before\x00after" or d["c.json"] != "txt\x00caption")'
finish
