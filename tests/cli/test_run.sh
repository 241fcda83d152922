#!/usr/bin/env bash
# run: the whole pipeline equals the separate stages byte for byte, offline
# and against the fake LLM + image server; resumes at the first stage whose
# output is missing; mixes with single stages; bad usage.
TEST_NAME=run
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }

# same_tree A B: same files, same bytes (hidden bookkeeping files aside).
same_tree() { diff -r -x '.hybridize' -x '.server-*' "$1" "$2" >/dev/null; }

OFF=(--api none --lang any --image-api none --leftover blur)

# --- offline: run == scan + prompts + generate + reshard ------------------
"$HY" scan "$SHARDS" -o st/captions -q >/dev/null
"$HY" prompts -i st/captions -o st/prompts --api none --lang any -q >/dev/null
"$HY" generate -p st/prompts -s "$SHARDS" -o st/edits --image-api none --leftover blur -q >/dev/null
"$HY" reshard "$SHARDS" -e st/edits -o st/shards -q >/dev/null
run_hy run "$SHARDS" -w w1 "${OFF[@]}" -q
expect_rc 0 "offline run"
check "run's stage files and shards equal the separate stages'" same_tree st w1
check "summary has a row per stage" bash -c 'grep -Eq "^  scan +3 +0 +0" out.txt && grep -Eq "^  reshard +3 +0 +0" out.txt'
check "status files written" test -s w1/.hybridize/progress-0.json -a -s w1/.hybridize/shards.json
check "progress file says finished" grep -q '"finished": true' w1/.hybridize/progress-0.json
check "no temporary file left" test -z "$(find w1 -name '*.part' -o -name '.*.part' -o -name '*.journal')"

# --- a second run finds everything done --------------------------------------
run_hy run "$SHARDS" -w w1 "${OFF[@]}" -q
expect_rc 0 "re-run"
check "re-run found every shard done" grep -Eq "^  reshard +0 +3 +0" out.txt

# --- resume at the first missing stage ---------------------------------------
cp -r w1 w2
rm w2/shards/00000000.tar w2/shards/00000001.tar w2/shards/00000002.tar
rm -r w2/edits/00000001 w2/edits/00000002 w2/prompts/00000002.json
run_hy run "$SHARDS" -w w2 "${OFF[@]}" -q
expect_rc 0 "resume"
check "resumed work equals the first run" same_tree w1 w2
check "prompts redone for one shard, generate for two" bash -c 'grep -Eq "^  prompts +1 +1 +0" out.txt && grep -Eq "^  generate +2 +1 +0" out.txt'

# --- -o OUT_DIR, rank split ----------------------------------------------------
run_hy run "$SHARDS" -w w3 -o out3 "${OFF[@]}" --rank 1 --world 2 -q
expect_rc 0 "rank 1 of 2"
check "rank 1 of 2 did shard 1 only" test "$(ls out3)" = "00000001.tar"
check "shards.json lists every shard" bash -c "python3 -c 'import json,sys; d=json.load(open(\"w3/.hybridize/shards.json\")); sys.exit(0 if d[\"world\"]==2 and len(d[\"shards\"])==3 else 1)'"
expect_err "rank 1 of 2" "the split is shown"

# --- against the fake servers (one serves the LLM and the image APIs) -------
start_fake P --slots 4 --latency-ms 10
ON=(--endpoint "http://127.0.0.1:$P" --lang any --image-endpoint "http://127.0.0.1:$P")
run_hy run "$SHARDS" -w w4 "${ON[@]}" -q
expect_rc 0 "run with servers"
"$HY" scan "$SHARDS" -o s4/captions -q >/dev/null
"$HY" prompts -i s4/captions -o s4/prompts --endpoint "http://127.0.0.1:$P" --lang any -q >/dev/null 2>&1
"$HY" generate -p s4/prompts -s "$SHARDS" -o s4/edits --image-endpoint "http://127.0.0.1:$P" -q >/dev/null
"$HY" reshard "$SHARDS" -e s4/edits -o s4/shards -q >/dev/null
check "run with servers equals the separate stages" same_tree s4 w4
check "synthetic images made" bash -c 'n=$(awk "/synthetic images/ {print \$NF}" out.txt); [ "$n" -gt 0 ]'

# --- servers started by run ------------------------------------------------------
run_hy run "$SHARDS" -w w5 --lang any --llm-spawn "$FAKE --port {port} --max-seconds 60 --slots 4" \
	--image-spawn "$FAKE --port {port} --max-seconds 60 --slots 4" --gpus 1 -q
expect_rc 0 "run --llm-spawn --image-spawn"
check "same result with spawned servers" same_tree w4 w5
check "spawned servers stopped" bash -c "! pgrep -f -- '--port [0-9]+ --max-seconds 60 --slots 4' >/dev/null"

# --- bad usage --------------------------------------------------------------------
run_hy run "$SHARDS" "${OFF[@]}"
expect_rc 1 "no -w"
run_hy run -w w6 "${OFF[@]}"
expect_rc 1 "no shards"
run_hy run "$SHARDS" -w w6 -p x "${OFF[@]}"
expect_rc 1 "-p is refused (the stage folders are in WORK_DIR)"
run_hy run "$SHARDS" -w w6 --api none --lang any --image-api nope
expect_rc 1 "bad --image-api"
run_hy run "$T/nope.tar" -w w7 "${OFF[@]}" -q
expect_rc 2 "a missing shard fails"
expect_err "nope.tar" "the missing shard is named"
finish
