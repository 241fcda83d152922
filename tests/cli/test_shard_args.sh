#!/usr/bin/env bash
# SHARD arguments: a directory (its *.tar and *.tar.gz, sorted; other files
# and sub-directories ignored), a quoted brace range expanded by the tool
# (zero padding kept), a brace list, and mixes of these; a repeated shard
# is processed once; a range naming a missing file fails that one (exit 2).
TEST_NAME=shard_args
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done
outs() { ls "$1" 2>/dev/null | tr '\n' ' '; }

run_hy scan "$SHARDS" -o dir -q
expect_rc 0 "scan of a directory"
check "directory: its 3 shards" test "$(outs dir)" = "00000000.json 00000001.json 00000002.json "

run_hy scan "$SHARDS/{00000000..00000002}.tar" -o range -q
expect_rc 0 "scan of a quoted brace range"
check "range: 3 shards (zero padding kept)" test "$(outs range)" = "00000000.json 00000001.json 00000002.json "
for n in 00000000 00000001 00000002; do
	check "range: $n.json correct" json_eq "range/$n.json" "$FIX/expected/captions/$n.json"
done

run_hy scan "$SHARDS/{00000000,00000002}.tar" -o list -q
expect_rc 0 "scan of a brace list"
check "list: exactly 00000000 and 00000002" test "$(outs list)" = "00000000.json 00000002.json "

run_hy scan "$SHARDS/0000000{1..2}.tar" -o range2 -q
expect_rc 0 "scan of a one-digit range inside a name"
check "range inside a name: 00000001 and 00000002" test "$(outs range2)" = "00000001.json 00000002.json "

run_hy scan "$SHARDS/{00000001..00000003}.tar" -o miss -q
expect_rc 2 "range naming a missing shard"
expect_err "00000003\.tar" "the missing shard is named"
check "the existing shards of the range are done" test "$(outs miss)" = "00000001.json 00000002.json "

run_hy scan "$SHARDS/00000001.tar" "$SHARDS/{00000000..00000001}.tar" -o dup -q
expect_rc 0 "a shard named twice"
check "repeated shard processed once (2 shards in the summary)" grep -Eq "^ +shards +2\$" out.txt

# A directory with .tar, .tar.gz and other files, in unsorted creation order.
mkdir mix mix/sub.tar
ln -s "$SHARDS/00000002.tar" mix/d.tar
ln -s "$SHARDS/00000000.tar" mix/b.tar
gzip -c "$SHARDS/00000001.tar" >mix/a.tar.gz
ln -s "$SHARDS/00000001.tar" mix/c.tar
echo notes >mix/readme.txt
cp "$SHARDS/00000000.tar" mix/e.tar.bak
cp "$SHARDS/00000000.tar" mix/.hidden.tar
ln -s "$SHARDS/00000000.tar" mix/sub.tar/inner.tar
run_hy scan mix -o mixo -q
expect_rc 0 "scan of a directory with other files"
check "only *.tar and *.tar.gz, no sub-directories" test "$(outs mixo)" = "a.json b.json c.json d.json "
check "a.tar.gz read (gzip)" json_eq mixo/a.json "$FIX/expected/captions/00000001.json"
# Sorted order shows in the rank split: positions 0,2 vs 1,3.
run_hy scan mix -o r0 --rank 0 --world 2 -q
check "directory entries sorted by name: rank 0 of 2 gets a, c" test "$(outs r0)" = "a.json c.json "

# Mixing a file, a directory and a range in one call.
run_hy reshard "$SHARDS/00000000.tar" mix "$SHARDS/{00000001..00000002}.tar" -o both -q --no-fsync
expect_rc 0 "reshard of a file, a directory and a range together"
check "all 7 names" test "$(outs both)" = "00000000.tar 00000001.tar 00000002.tar a.tar b.tar c.tar d.tar "
# A shard whose name starts with '.' would be taken for a temporary or the
# face-threshold record (.faces.json) of the stage folders: refused, named.
mkdir dot
cp "$SHARDS/00000000.tar" dot/.faces.tar
run_hy scan dot/.faces.tar -o dot-scan -q
expect_rc 1 "scan of a shard named .faces.tar"
expect_err "dot/\.faces\.tar.*starts with '\.'" "scan names it and why"
run_hy reshard dot/.faces.tar -e none -o dot-reshard -q
expect_rc 1 "reshard of a shard named .faces.tar"
expect_err "dot/\.faces\.tar.*starts with '\.'" "reshard names it and why"
check "nothing written for it" test ! -e dot-scan/.faces.json -a ! -e dot-reshard/.faces.tar
finish
