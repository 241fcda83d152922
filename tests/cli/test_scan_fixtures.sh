#!/usr/bin/env bash
# scan on the bundled DataComp shards and on every tar dialect gives the
# captions of ../shared/fixtures/expected.
TEST_NAME=scan_fixtures
. "$(dirname "$0")/lib.sh"

run_hy scan "$SHARDS" -o cap --min-faces 1 -q
expect_rc 0 "scan of datacomp-mini"
for f in "$FIX"/expected/captions/*.json; do
	n=$(basename "$f")
	check "captions/$n equal expected as JSON" json_eq "cap/$n" "$f"
	check "captions/$n byte-identical to the old script's" cmp -s "cap/$n" "$f"
done

for v in "$FIX"/tar-variants/*; do
	n=$(basename "$v")
	rm -rf vcap
	run_hy scan "$v" -o vcap -q
	expect_rc 0 "scan of $n"
	out=$(ls vcap/*.json 2>/dev/null | head -1)
	check "$n gives the captions of shard 00000000" \
		json_eq "${out:-/nonexistent}" "$FIX/expected/captions/00000000.json"
done
finish
