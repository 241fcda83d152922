#!/usr/bin/env bash
# generate against a failing image server: every fault kind of the fake
# (tests/servers/fake_llm.c) retried, random 500s, a sample that fails every
# try (exit 2, the shard left in .NAME.part, a re-run asks only for it),
# SIGKILL and resume (byte-identical to an uninterrupted run), SIGTERM.
TEST_NAME=generate_faults
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cli/generate_lib.sh"


summary_value() { awk -v k="$1" '$0 ~ "^ *"k" " { print $NF; exit }' out.txt; }
# stat_of PORT EXPR: a value of the server's /stats (a Python expression on s).
stat_of() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; s = json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
# marked SRC DST 'KEY=SUFFIX'...: copies the prompts folder SRC to DST with
# SUFFIX appended to the prompts of the keys given.
marked() {
	rm -rf "$2"
	cp -r "$1" "$2"
	python3 - "$2" "${@:3}" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
for kv in sys.argv[2:]:
    k, suf = kv.split("=", 1)
    f = os.path.join(d, "%08d.json" % (int(k) // 10000))
    p = json.load(open(f, encoding="utf-8"))
    assert p.get(k + ".json", "").strip(), k
    p[k + ".json"] += suf
    json.dump(p, open(f, "w", encoding="utf-8"), indent=4, ensure_ascii=False)
PY
}
# image_ok DIR KEY: KEY.jpg is a whole JPEG whose sha256 and size are in
# KEY.json and whose bytes are those of the fault-free run (ref).
image_ok() {
	python3 - "$IMGTOOL" "$1" "$2" <<'PY'
import hashlib, json, os, subprocess, sys
tool, d, key = sys.argv[1:4]
jp = os.path.join(d, key + ".jpg")
meta = json.load(open(os.path.join(d, key + ".json")))
r = subprocess.run([tool, "size", jp], capture_output=True, text=True)
w, h, f = r.stdout.split() if r.returncode == 0 else (0, 0, "")
b = open(jp, "rb").read()
ref = open(os.path.join("ref", os.path.basename(d), key + ".jpg"), "rb").read()
ok = (f == "JPEG" and (int(w), int(h)) == (meta["width"], meta["height"]) and
      hashlib.sha256(b).hexdigest() == meta["sha256"] and "synthetic" in meta and b == ref)
sys.exit(0 if ok else 1)
PY
}

"$HY" scan "$SHARDS" -o cap -q >/dev/null
"$HY" prompts -i cap -o pr --api none --lang any -q >/dev/null
start_fake PR --slots 4
run_hy generate -p pr -s "$SHARDS" -o ref -q --image-endpoint "http://127.0.0.1:$PR"
expect_rc 0 "reference run without faults"

# --- 4. every fault kind, once each -------------------------------------------
# One sample of shard 00000000 per kind; the marker is glued to the prompt so
# the server draws the same picture as for the bare prompt (markers are
# stripped), and the image must be the reference's.
kinds=(429 500 503 hang reset half garbage slow-body b64-cut image-cut not-image wrong-size empty)
mapfile -t fkeys < <(python3 -c '
import json
p = json.load(open("pr/00000000.json"))
print("\n".join(k[:-5] for k, v in sorted(p.items()) if v.strip()))')
check "fixture: a sample for each of the ${#kinds[@]} kinds" test "${#fkeys[@]}" -ge "${#kinds[@]}"
marks=()
for i in "${!kinds[@]}"; do marks+=("${fkeys[$i]}=[[fault:${kinds[$i]}:1]]"); done
marked pr pf "${marks[@]}"
start_fake PF --slots 4
run_hy generate -p pf -s "$SHARDS/00000000.tar" -o ef --image-timeout 1 --retries 3 -q --image-endpoint "http://127.0.0.1:$PF"
expect_rc 0 "one fault of each kind: retried, the run finishes"
for i in "${!kinds[@]}"; do
	k=${kinds[$i]}
	check "fault $k: counted once by the server" test "$(stat_of "$PF" "s['faults']['$k']")" = 1
	check "fault $k: sample ${fkeys[$i]} has the right image" image_ok ef/00000000 "${fkeys[$i]}"
done
# (a reset on a reused connection is retried by libcurl itself, so the
# summary may count one retry less than the server's faults)
check "retries counted ($(summary_value retries))" test "$(summary_value retries)" -ge $((${#kinds[@]} - 1))
check "one more request per fault, no more" test "$(stat_of "$PF" "s['image_requests']")" = $(($(summary_value "synthetic images") + ${#kinds[@]}))
check "every synthetic image of the shard is the reference's" diff -r -x '*.txt' -x '*.json' ref/00000000 ef/00000000
check "no .part left" test -z "$(find ef -name '.*part*')"

# A safety checker (A1111's NSFW filter, diffusers) answers 200 with a
# valid all-black image, every time: that is no synthetic image; the sample
# must end as a leftover (blurred by default), not ship a black picture.
marked pr pn "000000000001=[[fault:refuse]]"
run_hy generate -p pn -s "$SHARDS/00000000.tar" -o en -q --image-endpoint "http://127.0.0.1:$PF"
expect_rc 0 "an image server whose safety checker blacks out one image"
check "the blacked-out image is not shipped as synthetic (a leftover instead)" \
	grep -q '"key": "000000000001", "fate": "blurred"' en/00000000/.generate.json

start_fake P5 --slots 4 --fault 500:0.3 --seed 2
run_hy generate -p pr -s "$SHARDS/00000000.tar" -o e5 --retries 6 -q --image-endpoint "http://127.0.0.1:$P5"
expect_rc 0 "--fault 500:0.3 with --retries 6: nothing lost"
check "--fault 500:0.3: same tree as without faults" diff -r ref/00000000 e5/00000000
n500=$(stat_of "$P5" "s['faults']['500']")
check "--fault 500:0.3: the server failed some requests ($n500)" test "$n500" -ge 1
check "--fault 500:0.3: one retry per fault" test "$(summary_value retries)" = "$n500"
check "--fault 500:0.3: requests = images + faults" test "$(stat_of "$P5" "s['image_requests']")" = $(($(summary_value "synthetic images") + n500))

# --- 5. a sample that fails every try ------------------------------------------
marked pr pa "000000010005=[[fault:500:1000]]"
start_fake PX --slots 4
run_hy generate -p pa -s "$SHARDS" -o ex --retries 1 -q --image-endpoint "http://127.0.0.1:$PX"
expect_rc 2 "a sample failing every try: exit 2"
expect_err "00000001\.tar: sample '000000010005': .*HTTP 500" "stderr names the shard, the key and the reason"
check "--retries 1: two tries" test "$(stat_of "$PX" "s['faults']['500']")" = 2
check "its shard has no edits" test ! -e ex/00000001
check "its work stays in .00000001.part" test -d ex/.00000001.part
check "the other shards finished" test -d ex/00000000 -a -d ex/00000002
check "summary: one failed sample" test "$(summary_value "failed \\(run again\\)")" = 1
n_before=$(stat_of "$PX" "s['image_requests']")
run_hy generate -p pr -s "$SHARDS" -o ex -q --image-endpoint "http://127.0.0.1:$PX"
expect_rc 0 "re-run without the marker"
check "re-run asked for the failed sample only" test $(($(stat_of "$PX" "s['image_requests']") - n_before)) = 1
check "re-run: the shard is there, .part gone" test -d ex/00000001 -a ! -e ex/.00000001.part
check "re-run: finished samples reported as from an earlier run" test "$(summary_value "from an earlier run")" -ge 1
check "re-run: same tree as the reference" diff -r ref ex

# --- 7. SIGKILL, then resume ----------------------------------------------------
start_fake PS --slots 1 --latency-ms 200
"$HY" generate -p pr -s "$SHARDS" -o ek --image-endpoint "http://127.0.0.1:$PS" -q >/dev/null 2>&1 &
victim=$!
for _ in $(seq 60); do
	[ "$(find ek -name '*.json' 2>/dev/null | wc -l)" -ge 3 ] && break
	sleep 0.05
done
sleep 0.3
{ kill -9 $victim; wait $victim; } 2>/dev/null
ndone=$(find ek -path '*.part/*.json' 2>/dev/null | wc -l)
check "killed with samples done ($ndone)" test "$ndone" -ge 2
check "killed: no finished shard yet" test -z "$(find ek -mindepth 1 -maxdepth 1 -name '0*')"
cp -a ek ek2
run_hy generate -p pr -s "$SHARDS" -o ek -q --image-endpoint "http://127.0.0.1:$PR"
expect_rc 0 "re-run after SIGKILL"
check "resumed: samples from the killed run kept" test "$(summary_value "from an earlier run")" = "$ndone"
check "after SIGKILL: byte-identical to an uninterrupted run" diff -r ref ek
check "after SIGKILL: no .part folder or temporary file left" test -z "$(find ek -name '.*part*')"

# What a crash of the machine can leave: an empty image under a KEY.json
# that is there (renamed, never synced). What a kill in the middle of a
# write leaves: the temporary .KEY.jpg.part of a sample not done; here the
# re-run has no prompt for that sample any more (the prompts were redone)
# and drops it, so nothing writes that file again.
first=$(find ek2 -path '*.part/*.json' | sort | head -1)
part=$(dirname "$first")
name=$(basename "$part" .part)
name=${name#.}
first=$(basename "${first%.json}")
: >"$part/$first.jpg"
pend=$(python3 - "$part" "pr/$name.json" <<'PY'
import json, os, sys
p = json.load(open(sys.argv[2]))
print([k[:-5] for k, v in sorted(p.items())
       if v.strip() and not os.path.exists(os.path.join(sys.argv[1], k))][-1])
PY
)
printf 'half a jpeg' >"$part/.$pend.jpg.part"
rm -rf pd
cp -r pr pd
python3 - "pd/$name.json" "$pend" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
del p[sys.argv[2] + ".json"]
json.dump(p, open(sys.argv[1], "w"), indent=4)
PY
run_hy generate -p pd -s "$SHARDS" -o ek2 --leftover drop -q --image-endpoint "http://127.0.0.1:$PR"
expect_rc 0 "re-run after a crash and a kill mid-write"
check "an empty image under its KEY.json is made again" cmp -s "ek2/$name/$first.jpg" "ref/$name/$first.jpg"
check "the sample without a prompt now is dropped" grep -q "\"key\": \"$pend\", \"fate\": \"dropped\"" "ek2/$name/.generate.json"
check "the temporary of the killed write is not shipped (ek2/$name/.$pend.jpg.part)" test -z "$(find ek2 -name '.*part*')"

# --- 8. SIGTERM ---------------------------------------------------------------------
"$HY" generate -p pr -s "$SHARDS" -o et --image-endpoint "http://127.0.0.1:$PS" -q >/dev/null 2>et.err &
victim=$!
sleep 1
kill -TERM $victim
wait $victim
rc=$?
check "SIGTERM: exit 143 (got $rc)" test "$rc" = 143
check "SIGTERM: no edits folder for the unfinished shards" test -z "$(find et -mindepth 1 -maxdepth 1 -name '0*')"
check "SIGTERM: no temporary file left" test -z "$(find et -name '.*part' -type f)"
run_hy generate -p pr -s "$SHARDS" -o et -q --image-endpoint "http://127.0.0.1:$PR"
expect_rc 0 "re-run after SIGTERM"
check "after SIGTERM: same tree as the reference" diff -r ref et

stop_fakes
finish
