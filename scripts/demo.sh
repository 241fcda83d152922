#!/usr/bin/env bash
# make demo: the main job on sample data made by the repo's generator
# (deterministic DataComp-like shards with real JPEGs), offline: scan
# (captions of face samples), prompts --api none (the English filter, no
# LLM server), reshard (final shards). generate comes with its issue.
set -eu
cd "$(dirname "$0")/.."
HY=build/hybridize
D=build/demo
rm -rf "$D"
mkdir -p "$D"

echo "== generating 4 sample shards x 500 samples into $D/src"
build/gen_shards -o "$D/src" --shards 4 --samples 500

echo
echo "== hybridize scan $D/src -o $D/work/captions"
$HY scan "$D/src" -o "$D/work/captions"

echo
echo "== first captions of $D/work/captions/00000000.json"
head -n 4 "$D/work/captions/00000000.json"

echo
echo "== hybridize prompts -i $D/work/captions -o $D/work/prompts --api none"
$HY prompts -i "$D/work/captions" -o "$D/work/prompts" --api none

echo
echo "== hybridize reshard '$D/src/{00000000..00000003}.tar' -e $D/work/edits -o $D/work/shards"
mkdir -p "$D/work/edits"
$HY reshard "$D/src/{00000000..00000003}.tar" -e "$D/work/edits" -o "$D/work/shards"

echo
echo "== re-running scan: finished shards are skipped"
$HY scan "$D/src" -o "$D/work/captions" -q | head -n 5

echo
echo "== output shards (members, bytes) checked by bsdtar"
for f in "$D"/work/shards/*.tar; do
	printf '  %s: %s members, %s bytes\n' "$f" "$(bsdtar -tf "$f" | wc -l)" "$(stat -c %s "$f")"
done
