#!/usr/bin/env bash
# run, reshard and verify refuse an output folder in which a shard's output
# would be that input shard itself (-o INPUT_FOLDER, a link to it, a folder
# holding one input shard, or run -w W where W/shards is the input folder):
# the run would take every input for a finished output and do nothing.
# Exit 1, the message names the output and the input, nothing is created,
# the inputs are untouched.
TEST_NAME=output_is_input
. "$(dirname "$0")/lib.sh"

OFF=(--api none --lang any --image-api none --leftover blur)
mkdir in
cp "$SHARDS"/*.tar in/
sum() { cat in/*.tar | md5sum; }
before=$(sum)

run_hy run in -w w -o in "${OFF[@]}" -q
expect_rc 1 "run -o INPUT_FOLDER"
expect_err "output 'in/00000000\.tar' is the input shard 'in/00000000\.tar'" "the message names output and input"
expect_err "choose another -o" "the message says what to change"
check "nothing started: no work folder" test ! -e w

ln -s in link
run_hy run in -w w -o link "${OFF[@]}" -q
expect_rc 1 "run -o a link to the input folder"
expect_err "output 'link/00000000\.tar' is the input shard 'in/00000000\.tar'" "the link is seen through"

run_hy run in/00000001.tar -w w -o in "${OFF[@]}" -q
expect_rc 1 "run -o a folder holding the one input shard"
expect_err "'in/00000001\.tar' is the input shard 'in/00000001\.tar'" "that shard is named"

mkdir -p x
cp -r in x/shards
run_hy run x/shards -w x "${OFF[@]}" -q
expect_rc 1 "run -w W where W/shards is the input folder"
expect_err "output 'x/shards/00000000\.tar' is the input shard 'x/shards/00000000\.tar'" "named for -w too"
expect_err "choose another -w" "the message says what to change"
check "nothing started: no stage folder in x" test ! -e x/captions

run_hy reshard in -e edits -o in -q
expect_rc 1 "reshard -o INPUT_FOLDER"
expect_err "hybridize reshard: output 'in/00000000\.tar' is the input shard 'in/00000000\.tar'" "reshard says the same"
run_hy verify in -e edits -o link -q
expect_rc 1 "verify -o a link to the input folder"
expect_err "hybridize verify: output 'link/00000000\.tar' is the input shard 'in/00000000\.tar'" "verify says the same"

check "the inputs are untouched" test "$(sum)" = "$before"

run_hy run in -w w2 -o out "${OFF[@]}" -q
expect_rc 0 "another -o works"
finish
