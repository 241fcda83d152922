# Helpers for CLI tests: sourced by each tests/cli/test_*.sh, which drive the
# built binary ($HY) in a fresh empty directory ($T) and end with `finish`.
# Each `ok`/`fail` line is counted by tests/run.sh.
set -u
HY=${HY:-$(cd "$(dirname "$0")/../.." && pwd)/build/hybridize}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIX=${FIXTURES:-$(cd "$ROOT/.." && pwd)/shared/fixtures}
SHARDS=$FIX/datacomp-mini/shards
T=$(mktemp -d "${TMPDIR:-/tmp}/hy-cli.XXXXXX")
cd "$T" || exit 1
_fails=0

# The fake LLM + image server (tests/servers/fake_llm.c). start_fake VAR
# ARGS... starts one on a free port of 127.0.0.1 and sets VAR to the port;
# stop_fakes stops them all, as the exit trap does.
FAKE=${FAKE_LLM:-$ROOT/build/fake_llm}
FAKE_MAX_SECONDS=${FAKE_MAX_SECONDS:-120}
pids=()
start_fake() {
	local var=$1 pf
	shift
	pf=$(mktemp "$T/port.XXXXXX")
	rm -f "$pf"
	"$FAKE" --port 0 --port-file "$pf" --max-seconds "$FAKE_MAX_SECONDS" "$@" >/dev/null 2>>"$T/fake.err" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	printf -v "$var" '%s' "$(cat "$pf")"
}
stop_fakes() {
	[ ${#pids[@]} -eq 0 ] && return
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	pids=()
}
trap 'stop_fakes; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

ok() { echo "ok - $TEST_NAME: $*"; }
fail() { echo "not ok - $TEST_NAME: $*"; _fails=$((_fails + 1)); }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

# run_hy ARGS...: runs the binary, stdout -> out.txt, stderr -> err.txt,
# exit status -> $rc. Never aborts the test.
run_hy() {
	"$HY" "$@" >out.txt 2>err.txt
	rc=$?
}

# expect_rc N DESCRIPTION
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok "$2 (exit $rc)"; else
		fail "$2: expected exit $1, got $rc; stderr: $(head -c 600 err.txt)"
	fi
}

# expect_err REGEX DESCRIPTION: stderr matches REGEX (grep -E).
expect_err() {
	if grep -Eq -- "$1" err.txt; then ok "$2"; else
		fail "$2: stderr lacks /$1/: $(head -c 600 err.txt)"
	fi
}

# stat_of PORT KEY: a counter of the fake server on PORT (its /stats).
stat_of() {
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# summary_value KEY: the last column of the summary line KEY in out.txt.
summary_value() { awk -v k="$1" '$0 ~ "^ *"k" " { print $NF; exit }' out.txt; }

# json_keys FILE: the keys of a JSON object, sorted, on one line.
json_keys() { python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1])))))' "$1"; }

# make_captions DIR N FILES: N distinct English captions over FILES caption
# files (prompts' input), keys %d%07d.json.
make_captions() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, os, sys
d, n, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
for s in range(files):
    out = {"%d%07d.json" % (s, i): "A person number %d standing in scene %d" % (i, s)
           for i in range(n // files)}
    json.dump(out, open(os.path.join(d, "%08d.json" % s), "w"))
PY
}

# prompts_count DIR: the prompts in the prompts files of DIR.
prompts_count() {
	python3 -c '
import json, glob, sys
print(sum(len(json.load(open(f))) for f in glob.glob(sys.argv[1] + "/*.json")))' "$1"
}

# ls_stage DIR: the entries of a stage folder, one a line, without the
# face-threshold record scan, prompts and generate keep there (.faces.json,
# src/formats/facerule.h); no_hidden DIR: no temporary (dot name) among them.
ls_stage() { ls -A "$1" | grep -vx '\.faces\.json'; }
no_hidden() { [ -z "$(ls_stage "$1" | grep '^\.')" ]; }

# json_eq A B: the two files hold equal JSON values.
json_eq() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
}

finish() {
	exit $((_fails > 0))
}
