#!/usr/bin/env bash
# Sample keys: the member path up to the first dot of its last component,
# so keys in sub-folders keep their folder (part1/000123.json) and
# multi-dot extensions (000123.seg.png) belong to key 000123; directory,
# symlink and hard-link entries carry no sample data and do not break the
# grouping of the members around them.
TEST_NAME=scan_key_paths
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }
F='"face_bboxes": [[0.1,0.2,0.3,0.4]]'

tt build s.tar <<PY
[
 ("part1/", {"dir": True}),
 ("part1/000123.jpg", "img"), ("part1/000123.seg.png", "seg"),
 ("part1/000123.json", '{"caption": "in part1", $F}'),
 ("part1/000124.seg.png", "seg"), ("part1/000124.json", '{"caption": "seg first", $F}'),
 ("000123.jpg", "img"), ("000123.json", '{"caption": "top level 000123", $F}'),
 ("v1.2/", {"dir": True}),
 ("v1.2/000125.jpg", "img"), ("v1.2/000125.json", '{"caption": "dotted folder", $F}'),
 ("x/000126.jpg", "img"),
 ("x/sub/", {"dir": True}),
 ("x/000126.alias.jpg", {"symlink": "000126.jpg"}),
 ("x/000126.txt", "txt of 126"),
 ("other.jpg", {"symlink": "x/000126.jpg"}),
 ("x/000126.hard", {"hardlink": "x/000126.jpg"}),
 ("x/000126.json", '{$F}'),
 ("x/000127.a.b.c.json.gz", "not metadata"),
 ("x/000127.json", '{"caption": "multi-dot sibling", $F}'),
]
PY
run_hy scan s.tar -o cap -q
expect_rc 0 "scan of a shard with sub-folders, dirs and links"
cat >want.json <<'J'
{"part1/000123.json": "in part1", "part1/000124.json": "seg first",
 "000123.json": "top level 000123", "v1.2/000125.json": "dotted folder",
 "x/000126.json": "txt of 126", "x/000127.json": "multi-dot sibling"}
J
check "keys keep their folder; links/dirs do not split samples" \
	json_eq cap/s.json want.json
check "nothing reported on stderr (no key reappears)" bash -c '! grep -q . err.txt'
check "summary counts 6 samples (dirs and links are not samples)" \
	grep -Eq "^ +samples +6\$" out.txt
check "output keys are in shard order" python3 -c '
import json, sys
k = list(json.load(open("cap/s.json")))
sys.exit(k != ["part1/000123.json", "part1/000124.json", "000123.json",
               "v1.2/000125.json", "x/000126.json", "x/000127.json"])'

# Same member names with GNU and pax headers and long folder names.
long=$(printf 'd%.0s' $(seq 1 120))
for fmt in gnu pax; do
	tt build "l$fmt.tar" "$fmt" <<PY
[("$long/", {"dir": True}), ("$long/000001.jpg", "i"),
 ("$long/000001.json", '{"caption": "long", $F}')]
PY
	run_hy scan "l$fmt.tar" -o cap -q
	expect_rc 0 "scan of a $fmt shard with a 120-char folder"
	echo "{\"$long/000001.json\": \"long\"}" >wl.json
	check "$fmt: long sub-folder key kept whole" json_eq "cap/l$fmt.json" wl.json
done
finish
