#!/usr/bin/env bash
# make demo: the main job on sample data made by the repo's generator
# (deterministic DataComp-like shards with real JPEGs), offline: `run` does
# scan (captions of face samples), prompts --api none (the English filter,
# no LLM server), generate --image-api none --leftover blur (every face
# blurred: the offline de-identification path) and reshard (final shards),
# pipelined per shard; then status and verify check the result.
set -eu
cd "$(dirname "$0")/.."
HY=build/hybridize
D=build/demo
rm -rf "$D"
mkdir -p "$D"

echo "== generating 4 sample shards x 500 samples into $D/src"
build/gen_shards -o "$D/src" --shards 4 --samples 500

echo
echo "== hybridize run '$D/src/{00000000..00000003}.tar' -w $D/work --api none --image-api none --leftover blur"
$HY run "$D/src/{00000000..00000003}.tar" -w "$D/work" --api none --image-api none --leftover blur

echo
echo "== first captions of $D/work/captions/00000000.json"
head -n 4 "$D/work/captions/00000000.json"

echo
echo "== what generate decided for the first face samples ($D/work/edits/00000000/.generate.json)"
head -n 4 "$D/work/edits/00000000/.generate.json"

echo
echo "== hybridize status $D/work"
$HY status "$D/work"

echo
echo "== hybridize verify $D/src -e $D/work/edits -o $D/work/shards"
$HY verify "$D/src" -e "$D/work/edits" -o "$D/work/shards" -q

echo
echo "== re-running: every shard is found done"
$HY run "$D/src" -w "$D/work" --api none --image-api none --leftover blur -q | head -n 7

echo
echo "== output shards (members, bytes) checked by bsdtar"
for f in "$D"/work/shards/*.tar; do
	printf '  %s: %s members, %s bytes\n' "$f" "$(bsdtar -tf "$f" | wc -l)" "$(stat -c %s "$f")"
done
