#!/usr/bin/env bash
# JSON written by Python's json module: \uXXXX escapes (BMP, surrogate
# pairs) round-trip into the captions file as the same characters; a lone
# surrogate escape keeps the sample and becomes U+FFFD.
TEST_NAME=scan_unicode
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

# (unquoted here-document: "\\\\" below is one escaped backslash in the JSON)
tt build s.tar <<PY
[
 ("a.json", r'{"caption": "Jos\ud83d Chessani", $F}'),
 ("b.json", r'{"caption": "lone low \ude00 here", $F}'),
 ("c.json", r'{"caption": "emoji \ud83d\ude00 pair", $F}'),
 ("d.json", r'{"caption": "\u590f\u306e\u6d77 caf\u00e9 \u00fc", $F}'),
 ("e.json", r'{"caption": "raw UTF-8 é 夏 😀", $F}'),
 ("f.json", r'{"caption": "ends in high \ud83d", $F}'),
 ("g.json", r'{"caption": "two highs \ud83d\ud83d\ude00 x", $F}'),
 ("h.json", r'{"caption": "escaped backslash \\\\ud83d stays text", $F}'),
 ("j.json", r'{"caption": "bs then lone \\\\\\ud83d!", $F}'),
 ("i.json", r'{"caption": "quote \" and nul-ish \u0001 and \n newline", $F}'),
]
PY
run_hy scan s.tar -o cap -q
expect_rc 0 "scan of a shard with unicode escapes"
check "output is valid UTF-8 JSON" python3 -c \
	'import json; json.load(open("cap/s.json", encoding="utf-8", errors="strict"))'
check "output is valid UTF-8 (no CESU/raw surrogates)" python3 -c \
	'open("cap/s.json","rb").read().decode("utf-8")'
cat >want.py <<'P'
import json, sys
want = {
    "a.json": "Jos\ufffd Chessani",
    "b.json": "lone low \ufffd here",
    "c.json": "emoji \U0001F600 pair",
    "d.json": "\u590f\u306e\u6d77 caf\u00e9 \u00fc",
    "e.json": "raw UTF-8 \u00e9 \u590f \U0001F600",
    "f.json": "ends in high \ufffd",
    "g.json": "two highs \ufffd\U0001F600 x",
    "h.json": "escaped backslash \\ud83d stays text",
    "j.json": "bs then lone \\\ufffd!",
    "i.json": "quote \" and nul-ish \u0001 and \n newline",
}
got = json.load(open("cap/s.json", encoding="utf-8"))
key = sys.argv[1]
if got.get(key) != want[key]:
    print("%s: got %r want %r" % (key, got.get(key), want[key]), file=sys.stderr)
    sys.exit(1)
P
for k in a b c d e f g h i j; do
	check "caption of $k.json" python3 want.py "$k.json"
done
check "nothing on stderr: lone surrogates are no error" bash -c '! grep -q . err.txt'
tt captions s.tar 1 >py.json
check "equal to the Python computation" json_eq cap/s.json py.json

# The fixture shard's emoji written as a surrogate-pair escape.
run_hy scan "$SHARDS/00000000.tar" -o fcap -q
expect_rc 0 "scan of fixture shard 00000000"
check "fixture emoji pair kept as U+1F600" python3 -c '
import json, sys
g = json.load(open("fcap/00000000.json", encoding="utf-8"))
sys.exit(g["000000000018.json"] != "Two kids playing football in the street \U0001F600")'

# Invalid UTF-8 bytes (in the JSON caption, in a .txt caption) must not
# make the captions file invalid for the Python tools that read it.
tt build bad.tar <<'PY'
[("k1.json", b'{"caption": "bad \xff\xfe end", "face_bboxes": [[0,0,1,1]]}'),
 ("k2.txt", b'cut \xc3'), ("k2.json", b'{"face_bboxes": [[0,0,1,1]]}'),
 ("k3.json", b'{"caption": "fine", "face_bboxes": [[0,0,1,1]]}')]
PY
run_hy scan bad.tar -o cap -q
check "invalid UTF-8 input: output is still strict UTF-8 JSON" python3 -c \
	'import json; json.loads(open("cap/bad.json","rb").read().decode("utf-8"))'
check "invalid UTF-8 input: the other samples are kept" python3 -c '
import json, sys
sys.exit(json.load(open("cap/bad.json", encoding="utf-8", errors="replace")).get("k3.json") != "fine")'
finish
