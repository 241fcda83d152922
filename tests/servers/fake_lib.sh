# Shared by the fake server's own tests (sourced after ../cli/lib.sh):
# takes the server `make tools` built, build/fake_llm (or $FAKE_LLM, a
# sanitizer build say), as FL, and replaces lib.sh's start_fake with one
# that keeps each server's output (FLPID, PORT, B, LOG). req and jv query
# it. Built once by make (with -Werror), not by each test.
FL=${FAKE_LLM:-$ROOT/build/fake_llm}
if [ ! -x "$FL" ]; then
	if [ -n "${FAKE_LLM:-}" ]; then
		fail "\$FAKE_LLM=$FL is not an executable"
	else
		fail "$FL missing: run make tools"
	fi
	finish
fi

n_start=0
# start_fake ARGS...: starts the server on a free port; sets FLPID, PORT,
# B (base URL) and LOG (stderr file). The port comes from --port-file.
start_fake() {
	n_start=$((n_start + 1))
	LOG=fl$n_start.err
	rm -f port.txt
	"$FL" --port 0 --port-file port.txt --max-seconds 60 "$@" \
		>"fl$n_start.out" 2>"$LOG" &
	FLPID=$!
	local k=0
	while [ ! -s port.txt ] && [ $k -lt 500 ]; do
		sleep 0.01
		k=$((k + 1))
	done
	PORT=$(cat port.txt 2>/dev/null)
	B=http://127.0.0.1:$PORT
}
# stop_fake: SIGTERM, then waits; sets rc to the exit status.
stop_fake() {
	kill -TERM "$FLPID" 2>/dev/null
	wait "$FLPID"
	rc=$?
}
# req PATH [CURL ARGS...]: POST/GET with curl; body -> body.txt, headers ->
# head.txt, status -> $code, curl exit -> $cerr.
req() {
	local p=$1
	shift
	code=$(curl -s -o body.txt -D head.txt -w '%{http_code}' --max-time 5 \
		"$@" "$B$p")
	cerr=$?
}
# jv FILE EXPR: prints the Python expression EXPR over the JSON value d.
jv() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}
