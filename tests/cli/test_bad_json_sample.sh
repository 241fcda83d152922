#!/usr/bin/env bash
# scan: a sample whose KEY.json is not valid JSON is reported on stderr by
# shard and key; the rest of the shard is processed (the other face samples
# are in the output) and the run exits 2.
TEST_NAME=bad_json_sample
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

tt build s.tar <<PY
[
 ("k01.jpg", "i"), ("k01.json", '{"caption": "first", $F}'),
 ("k02.jpg", "i"), ("k02.json", '{caption: "no quotes", $F}'),
 ("k03.jpg", "i"), ("k03.json", '{"caption": "third", $F}'),
 ("k04.jpg", "i"), ("k04.json", '{"caption": "cut", "face_bboxes": [[0.1, 0.'),
 ("k05.jpg", "i"), ("k05.json", ''),
 ("sub/k06.jpg", "i"), ("sub/k06.json", '{"caption": "trailing", $F} x'),
 ("k08.json", '{"caption": "extra brace", $F}}'),
 ("k07.jpg", "i"), ("k07.txt", "seventh"), ("k07.json", '{$F}'),
]
PY
run_hy scan s.tar "$SHARDS/00000000.tar" -o cap -j 1 -q
expect_rc 2 "scan with invalid JSON samples"
for k in k02 k04 k05 sub/k06 k08; do
	expect_err "s\.tar.*'?$k(\.json)?'?.*(JSON|json)" "bad sample $k named with shard and key"
done
check "no valid sample is reported" bash -c '! grep -Eq "k01|k03|k07" err.txt'
cat >want.json <<'J'
{"k01.json": "first", "k03.json": "third", "k07.json": "seventh"}
J
check "the shard's valid face samples are all in the output" json_eq cap/s.json want.json
check "the other shard is complete" json_eq cap/00000000.json "$FIX/expected/captions/00000000.json"
check "summary counts 5 bad samples" grep -Eq "bad samples +5\$" out.txt
check "summary counts 8 samples in s.tar + 40" grep -Eq "^ +samples +48\$" out.txt
check "summary headline does not say plain 'done' when samples failed" \
	bash -c '! head -1 out.txt | grep -Eq ": done in"'
finish
