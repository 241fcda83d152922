#!/usr/bin/env bash
# run: a sample whose KEY.json is not valid JSON is reported by shard and
# key, counted as a bad sample in the summary and in the progress file that
# `status` reads, the rest of the shard goes on to the final shard, and the
# run exits 2 (as scan does) rather than 0.
TEST_NAME=run_bad_json_sample
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

mkdir in
tt build in/s.tar <<PY
[
 ("k01.jpg", "i"), ("k01.json", '{"caption": "first", $F}'),
 ("k02.jpg", "i"), ("k02.json", '{caption: "no quotes", $F}'),
 ("k03.jpg", "i"), ("k03.json", '{"caption": "third", $F}'),
 ("k04.jpg", "i"), ("k04.json", ''),
]
PY
OFF=(--api none --lang any --image-api none --leftover blur)

run_hy run in/s.tar -w w "${OFF[@]}" -q
expect_rc 2 "run with invalid JSON samples"
for k in k02 k04; do
	expect_err "s\.tar.*'?$k(\.json)?'?.*(JSON|json)" "bad sample $k named with shard and key"
done
check "summary counts 2 bad samples" grep -Eq "bad samples +2\$" out.txt
check "summary headline says failures" bash -c 'head -1 out.txt | grep -q "finished with failures"'
check "the rest of the shard reached the final shard" test -s w/shards/s.tar
check "progress file counts the bad samples" \
	grep -Eq '"bad_samples": 2[,}]' w/.hybridize/progress-0.json
run_hy status w --json
check "status --json shows the rank's bad samples" \
	python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if d["ranks"][0]["bad_samples"] == 2 else 1)'
finish
