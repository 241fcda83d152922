# Shared by the fake server's own tests (sourced after ../cli/lib.sh):
# builds the server into the temp dir (or takes $FAKE_LLM, a sanitizer
# build say) as FL, and replaces lib.sh's start_fake with one that keeps
# each server's output (FLPID, PORT, B, LOG). req and jv query it.
if [ -n "${FAKE_LLM:-}" ]; then
	FL=$FAKE_LLM
	check "use \$FAKE_LLM" test -x "$FL"
else
	FL=$T/fake_llm
	# shellcheck disable=SC2046 # pkg-config output is a word list
	if ${CC:-gcc} -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
		"$ROOT/tests/servers/fake_llm.c" -o "$FL" \
		$(pkg-config --cflags --libs libcjson libpng libturbojpeg libwebp) \
		-lpthread 2>build.txt; then
		ok "builds with -Wall -Wextra -Werror"
	else
		fail "build: $(head -c 600 build.txt)"
		finish
	fi
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
