#!/usr/bin/env bash
# reshard: an edit file for a key the shard does not have fails that shard
# (exit 2, no output, no temporary), and stderr names the edit file's path
# and the key; the other shards of the run are written.
TEST_NAME=reshard_edit_unknown_key
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

tt build s.tar <<'PY'
[("k1.jpg", "one"), ("k1.json", "{}"), ("sub/k2.jpg", "two"), ("sub/k2.json", "{}")]
PY
mkdir -p edits/s/sub edits/00000000
printf 'new' >edits/s/k1.jpg                # a real key: fine on its own
printf 'ghost' >edits/s/sub/nokey.jpg       # a key s.tar lacks
printf 'real' >edits/00000000/000000000003.txt
run_hy reshard s.tar "$SHARDS/00000000.tar" -e edits -o out -q
expect_rc 2 "reshard with an edit for an absent key"
expect_err "edits/s/sub/nokey\.jpg" "stderr names the edit file's path"
expect_err "'sub/nokey'" "stderr names the key sub/nokey"
expect_err "s\.tar" "stderr names the shard"
check "no output for s.tar" test ! -e out/s.tar
check "no temporary left" test -z "$(ls -A out | grep '^\.')"
check "the other shard is written with its edit" \
	tt expect-reshard "$SHARDS/00000000.tar" edits/00000000 out/00000000.tar
check "summary says 1 failed" grep -Eq "failed +1\$" out.txt

# A key that exists only as a prefix of another (k1 vs k10) is still absent.
mkdir -p e2/s && printf x >e2/s/k.jpg
run_hy reshard s.tar -e e2 -o out2 -q
expect_rc 2 "an edit for key 'k' (shard has k1) is absent too"
expect_err "'k'" "stderr names key 'k'"
check "no output for s.tar" test ! -e out2/s.tar
finish
