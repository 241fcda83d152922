#!/usr/bin/env bash
# status WORK_DIR: the per-stage table, counts and ranks of a work dir made
# by `run` and of one made by the separate commands; a half-done work dir
# (work left in prompts and generate with no run on it is failed, with its
# finished samples counted; the same work touched lately is in progress);
# --missing with the SLURM array indices of a hand-written 7-shard, world-3
# split; live and stale ranks from progress files and the ETA; --json with
# the same numbers as the table; exit 1 for bad usage and for a WORK_DIR
# that cannot be read.
TEST_NAME=status
. "$(dirname "$0")/lib.sh"

# row STAGE: "done in_progress failed not_started" of the table in out.txt
row() { awk -v s="$1" '$1 == s && NF == 5 { print $2, $3, $4, $5 }' out.txt; }
# count LABEL: the number after a count line of the table
count() { sed -n "s/^  $1  *\([0-9][0-9]*\)\$/\1/p" out.txt; }
# jq_ EXPR: evaluates a Python expression on the JSON in out.txt (as j)
jq_() { python3 -c 'import json,sys; j=json.load(open("out.txt")); print(eval(sys.argv[1]))' "$1"; }
same() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }
OFF="--api none --lang any --image-api none --leftover blur -q"

# --- a work dir made by run: everything done -------------------------------
run_hy run "$SHARDS" -w w1 $OFF
expect_rc 0 "setup: run of the fixture shards"
run_hy status w1
expect_rc 0 "status of a finished run"
for s in scan prompts generate reshard; do
	same "run: $s 3 done" "$(row $s)" "3 0 0 0"
done
same "run: face samples from the captions files" "$(count 'face samples')" 48
# 5 of the fixture's 48 face captions are empty: never prompted, blurred.
same "run: prompts (the 5 empty captions have none)" "$(count prompts)" 43
same "run: blurred from the fates" "$(count blurred)" 48
same "run: no synthetic images" "$(count 'synthetic images')" 0
check "run: the rank is listed as finished, 3/3 shards" \
	grep -Eq '^  0 +[^ ]+ +[0-9]+ +finished +3/3 ' out.txt
check "run: says all final shards are there" grep -q 'all 3 final shards are there' out.txt
cp out.txt table1.txt
run_hy status w1 --json
expect_rc 0 "status --json"
check "--json is one JSON object" python3 -c 'import json; assert isinstance(json.load(open("out.txt")), dict)'
for s in scan prompts generate reshard; do
	same "--json: $s as in the table" \
		"$(jq_ "' '.join(str(j['stages']['$s'][k]) for k in ('done','in_progress','failed','not_started'))")" \
		"$(cp out.txt j.txt; cp table1.txt out.txt; row $s; cp j.txt out.txt)"
done
same "--json: counts" "$(jq_ "[j['counts'][k] for k in ('faces','prompts','images','blurred','dropped','kept')]")" \
	"[48, 43, 0, 48, 0, 0]"
same "--json: rank 0 finished, 3 of 3" "$(jq_ "[(r['rank'], r['state'], r['shards_done'], r['shards']) for r in j['ranks']]")" \
	"[(0, 'finished', 3, 3)]"
same "--json: nothing missing, no array index" "$(jq_ "(j['missing'], j['array'], j['eta'])")" "(0, '', 0)"
mkdir elsewhere
run_hy status w1 -o elsewhere
expect_rc 0 "-o OUT_DIR without the final shards"
same "-o: reshard counts OUT_DIR" "$(row reshard)" "0 0 0 3"
expect_err "progress files count 3 final shards, but 'elsewhere' has none: pass the -o" \
	"-o: warns when the run wrote its shards elsewhere"
run_hy status w1 --missing
expect_rc 0 "--missing of a finished run"
same "--missing: no shard, array none" "$(cat out.txt)" "array: none (every final shard is there)"

# --- the same work with the separate commands (no .hybridize) -------------
S0=$SHARDS/00000000.tar S1=$SHARDS/00000001.tar S2=$SHARDS/00000002.tar
"$HY" scan "$SHARDS" -o w2/captions -q >/dev/null &&
	"$HY" prompts -i w2/captions -o w2/prompts --api none --lang any -q >/dev/null &&
	"$HY" generate -p w2/prompts -s "$S0" "$S1" -o w2/edits --image-api none --leftover drop -q >/dev/null &&
	"$HY" reshard "$S0" -e w2/edits -o w2/shards -q >/dev/null
check "setup: separate commands (generate 2 shards, reshard 1)" test $? -eq 0
run_hy status w2
expect_rc 0 "status of a work dir without .hybridize"
check "separate: shards from the stage folders" grep -q '3 shards (from the stage folders)' out.txt
check "run: shards from shards.json, world 1" grep -q '3 shards (from .hybridize/shards.json, world 1)' table1.txt
same "separate: scan" "$(row scan)" "3 0 0 0"
same "separate: prompts" "$(row prompts)" "3 0 0 0"
same "separate: generate" "$(row generate)" "2 0 0 1"
same "separate: reshard" "$(row reshard)" "1 0 0 2"
same "separate: dropped from the fates" "$(count dropped)" 32
check "separate: no ranks section" bash -c '! grep -q "^ranks" out.txt'
run_hy status w2 --missing
expect_rc 0 "--missing without shards.json"
same "separate: missing shards by name" "$(head -2 out.txt)" "$(printf '00000001\n00000002')"
check "separate: says the list is from the stage folders, no indices" \
	grep -q '^array: unknown (.*stage folders only' out.txt
run_hy status w2 --json --missing
same "separate --json: no array, world null" "$(jq_ "(j['array'], j['world'], j['shard_list'])")" "(None, None, False)"
same "separate --json: missing shards" "$(jq_ "[m['name'] for m in j['missing_shards']]")" "['00000001', '00000002']"

# --- half done: work left in prompts and generate ---------------------------
cp -r w1 w3
rm -r w3/shards/00000001.tar w3/edits/00000001 w3/shards/00000002.tar \
	w3/edits/00000002 w3/prompts/00000002.json
mkdir -p w3/edits/.00000001.part
cp w1/edits/00000001/000000010001.json w1/edits/00000001/000000010004.json \
	w1/edits/00000001/000000010004.jpg w3/edits/.00000001.part/
echo '{"half' >w3/edits/.00000001.part/.000000010007.json.part
{
	echo '["#options", "", "abc"]'
	echo '["000000020001.json", "ok", "a prompt"]'
	echo '["000000020002.json", "declined", "no"]'
	echo '["000000020003.json", "ok", "another"]'
	printf '["000000020004.js'
} >w3/prompts/.00000002.journal
touch -d '1 hour ago' w3/edits/.00000001.part w3/prompts/.00000002.journal
run_hy status w3
expect_rc 0 "status of a half-done work dir (exit 0 with work left)"
same "half: scan" "$(row scan)" "3 0 0 0"
same "half: prompts (one left behind: failed)" "$(row prompts)" "2 0 1 0"
same "half: generate (one left behind: failed)" "$(row generate)" "1 0 1 1"
same "half: reshard" "$(row reshard)" "1 0 0 2"
check "half: 00000002 failed in prompts with 3/16 answers kept" \
	grep -Eq '^  00000002 +prompts +left half-done.*3/16 samples' out.txt
check "half: 00000001 failed in generate with 2/16 samples kept" \
	grep -Eq '^  00000001 +generate +left half-done.*2/16 samples' out.txt
same "half: samples in progress" "$(count 'samples in progress')" 5
same "half: prompts count 28 (one prompts file gone)" "$(count prompts)" 28
check "half: 2 of 3 final shards missing" grep -q '^2 of 3 final shards missing' out.txt
touch w3/edits/.00000001.part w3/prompts/.00000002.journal
run_hy status w3 --json
same "half, touched now (a stage command on them): in progress" \
	"$(jq_ "[(s['name'], s['stage'], s['done'], s['of']) for s in j['in_progress']]")" \
	"[('00000001', 'generate', 2, 16), ('00000002', 'prompts', 3, 16)]"
same "half --json: nothing failed" "$(jq_ "j['failed']")" "[]"

# --- --missing and array indices: 7 shards, world 3 --------------------------
mkdir -p w4/.hybridize w4/shards w4/captions
{
	printf '{"world": 3, "shards": ['
	for i in 0 1 2 3 4 5 6; do
		[ $i -gt 0 ] && printf ','
		printf '\n  {"name": "s%d", "path": "/data/in/s%d.tar"}' $i $i
	done
	printf '\n]}\n'
} >w4/.hybridize/shards.json
for i in 0 1 3 4 5; do : >w4/shards/s$i.tar; done
echo '{"a.json": "x", "b.json": "y"}' >w4/captions/s2.json
run_hy status w4 --missing
expect_rc 0 "--missing of a 7-shard, world-3 split"
same "world 3: missing shards with their paths, then the indices" "$(cat out.txt)" \
	"$(printf 's2\t/data/in/s2.tar\ns6\t/data/in/s6.tar\narray: 0,2 (world 3)')"
rm w4/shards/s4.tar
run_hy status w4 --missing
same "world 3: s4 gone too: indices 0-2" "$(tail -1 out.txt)" "array: 0-2 (world 3)"
: >w4/shards/s4.tar

# --- ranks: one live, one stale; rates and ETA -----------------------------
now=$(date +%s)
prog() { # RANK UPDATED RESHARDED ELAPSED HOST
	printf '{"rank": %d, "world": 3, "pid": 999999, "started": %d, "updated": %d, "elapsed": %s, "finished": false, "shards": 3, "host": "%s", "stages": {"scan": {"done": 1, "skipped": 0, "failed": 0}, "prompts": {"done": 1, "skipped": 0, "failed": 0}, "generate": {"done": 1, "skipped": 0, "failed": 0}, "reshard": {"done": %d, "skipped": 0, "failed": 0}}, "samples": 40, "faces": 16, "prompts": 0, "declined": 0, "other_lang": 0, "images": 0, "blurred": 0, "dropped": 0, "kept": 0, "failed_samples": 0, "bytes_out": 0, "failures": []}\n' \
		"$1" $(($2 - ${4%.*})) "$2" "$4" "$5" "$3" >"w4/.hybridize/progress-$1.json"
}
prog 0 "$now" 2 3600 node-a    # live: 2 shards an hour
prog 2 $((now - 3600)) 1 600 node-b # stale
run_hy status w4
expect_rc 0 "status with progress files"
check "ranks: rank 0 live on node-a, 2/3 shards, 2.0 shards/h" \
	grep -Eq '^  0 +node-a +999999 +live +2/3 .* 2\.0 ' out.txt
check "ranks: rank 2 stale on node-b, updated an hour ago" \
	grep -Eq '^  2 +node-b +999999 +stale +1/2 +1h00m ago ' out.txt
check "ranks: 2 progress files, 1 live" grep -q '^ranks (2 progress files, 1 live):' out.txt
check "ETA for the work dir: 2 missing at 2.0 shards/h = 1h00m" \
	grep -Eq '^2 of 7 final shards missing; 2\.0 shards/h over 1 live rank: ETA (1h00m|59m5[0-9]s)' out.txt
run_hy status w4 --json
same "--json: rank states" "$(jq_ "[(r['rank'], r['state'], r['host']) for r in j['ranks']]")" \
	"[(0, 'live', 'node-a'), (2, 'stale', 'node-b')]"
same "--json: ETA = missing / live rate" "$(jq_ "(j['live_ranks'], j['missing'], float(j['shards_per_hour']), round(j['eta']))")" \
	"(1, 2, 2.0, 3600)"
same "--json: array indices" "$(jq_ "j['array']")" "0,2"
same "--json: faces from captions/s2.json" "$(jq_ "j['counts']['faces']")" 2
prog 0 $((now - 120)) 2 3600 node-a
run_hy status w4 --json
same "a rank silent for 2 minutes is stale, ETA unknown" "$(jq_ "(j['ranks'][0]['state'], j['eta'])")" "('stale', None)"
# On this host the pid settles it at once: a fresh file of a dead process
# is stale, one of a running process live.
sleep 0 &
dead=$!
wait $dead
prog 0 "$now" 2 3600 "$(hostname)"
sed -i "s/\"pid\": 999999/\"pid\": $dead/" w4/.hybridize/progress-0.json
run_hy status w4 --json
same "this host, pid gone: stale" "$(jq_ "j['ranks'][0]['state']")" stale
sed -i "s/\"pid\": $dead/\"pid\": $$/" w4/.hybridize/progress-0.json
run_hy status w4 --json
same "this host, pid running: live" "$(jq_ "j['ranks'][0]['state']")" live

# --- bad usage ---------------------------------------------------------------
run_hy status does-not-exist
expect_rc 1 "nonexistent WORK_DIR"
expect_err "status: cannot read work dir 'does-not-exist': No such file" "names the work dir and the reason"
mkdir empty
run_hy status empty
expect_rc 1 "a folder that is no work dir"
expect_err "'empty' is not a work dir" "says it is not a work dir"
run_hy status
expect_rc 1 "no WORK_DIR"
run_hy status w1 w2
expect_rc 1 "two WORK_DIRs"
run_hy status w1 --bogus
expect_rc 1 "unknown option"
run_hy status --help
expect_rc 0 "--help"
check "--help documents the exit status" grep -q '^Exit status: 0 the report was made' out.txt
finish
