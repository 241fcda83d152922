#!/usr/bin/env bash
# scan --min-faces N keeps exactly the samples with >= N face boxes; the
# expected sets are computed independently with Python from the shards.
TEST_NAME=scan_min_faces
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

for n in 0 1 2 5; do
	run_hy scan "$SHARDS" -o "cap$n" --min-faces "$n" -q --no-fsync
	expect_rc 0 "scan --min-faces $n"
	for s in "$SHARDS"/*.tar; do
		b=$(basename "$s" .tar)
		tt captions "$s" "$n" >"want$n-$b.json"
		check "--min-faces $n: cap$n/$b.json is the Python-computed set" \
			json_eq "cap$n/$b.json" "want$n-$b.json"
	done
done
# The thresholds really change the set (else the checks above prove little).
c() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$1"; }
n0=$(c cap0/00000000.json) n1=$(c cap1/00000000.json)
n2=$(c cap2/00000000.json) n5=$(c cap5/00000000.json)
check "0 faces keeps every sample with metadata (40), got $n0" [ "$n0" = 40 ]
check "set shrinks: min 0 ($n0) > min 1 ($n1) > min 2 ($n2) > min 5 ($n5)" \
	[ "$n0" -gt "$n1" -a "$n1" -gt "$n2" -a "$n2" -gt "$n5" ]
check "default --min-faces is 1" bash -c \
	'"$0" scan "$1" -o capd -q >/dev/null && cmp -s capd/00000000.json cap1/00000000.json' \
	"$HY" "$SHARDS/00000000.tar"
run_hy scan "$SHARDS" -o capx --min-faces -1 -q
expect_rc 1 "--min-faces -1 is a usage error"
run_hy scan "$SHARDS" -o capx --min-faces two -q
expect_rc 1 "--min-faces two is a usage error"
expect_err "min-faces" "the message names the option"
finish
