#!/usr/bin/env bash
# llama.cpp's llama-server answers ollama's /api/chat in the OpenAI format
# (a chat.completion: its /api/chat is its OpenAI handler). A client asked
# for ollama (--api ollama --chat) must stop with one configuration error
# that names --api openai, exit 1, after the few requests already in
# flight, recording no sample as failed or declined; it used to take each
# answer for a broken one and retry every sample until all had failed.
TEST_NAME=llama_cpp_api_chat
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
stat_of() { # the requests on one path (lib.sh's stat_of reads a counter)
	curl -s --max-time 5 "http://127.0.0.1:$1/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["paths"][sys.argv[1]])' "$2"
}

start_fake PL --mimic llama.cpp --latency-ms 5
"$HY" scan "$SHARDS" -o cap -q >/dev/null

# --- prompts -------------------------------------------------------------
run_hy prompts -i cap -o po --endpoint "http://127.0.0.1:$PL" --chat --lang any \
	--num_threads 4 --retries 4
expect_rc 1 "prompts: an OpenAI answer to /api/chat is a configuration error"
expect_err "http://127\.0\.0\.1:$PL: answered in the OpenAI format.*use --api openai" \
	"prompts: the message names the endpoint and the --api to use"
check "prompts: one message, not one per sample" test "$(grep -c 'OpenAI format' err.txt)" = 1
sent=$(stat_of "$PL" /api/chat)
check "prompts: only the requests in flight were sent ($sent <= 4)" test "$sent" -le 4
check "prompts: no retry" test "$(summary_value retries)" = 0
check "prompts: the summary counts what was sent" test "$(summary_value requests)" = "$sent"
check "prompts: no sample failed" test "$(summary_value failed)" = 0
check "prompts: no sample declined" test "$(summary_value declined)" = 0
check "prompts: the headline says why it stopped" \
	grep -q '^hybridize prompts: stopped by a configuration error' out.txt
check "prompts: no sample reported" bash -c '! grep -Eqi "sample|declin" err.txt'
check "prompts: no prompts file" bash -c '! ls po 2>/dev/null | grep -q json'
check "prompts: no answer journaled" bash -c '! cat po/.*.journal 2>/dev/null | grep -q "json\""'

# The same server spoken to as what it is works.
run_hy prompts -i cap -o po --endpoint "http://127.0.0.1:$PL" --api openai --lang any -q
expect_rc 0 "prompts: --api openai against the same server"
check "prompts: --api openai wrote the prompts" test -s po/00000000.json

# --- run -------------------------------------------------------------------
before=$(stat_of "$PL" /api/chat)
run_hy run "$SHARDS" -w w --lang any --endpoint "http://127.0.0.1:$PL" --chat \
	--image-api none --num_threads 4 -q
expect_rc 1 "run: an OpenAI answer to /api/chat is a configuration error"
expect_err "answered in the OpenAI format.*use --api openai" "run: the --api to use is named"
check "run: one message" test "$(grep -c 'OpenAI format' err.txt)" = 1
check "run: only the requests in flight were sent" \
	test $(($(stat_of "$PL" /api/chat) - before)) -le 4
check "run: no final shards" bash -c '! find w -name "*.tar" | grep -q .'
check "run: no prompts file" bash -c '! ls w/prompts 2>/dev/null | grep -q json'

# --- and the reverse: an ollama answer where OpenAI's was asked for ------
start_fake PO
cat >ollama_proxy.py <<'PY'
# A path that speaks ollama's format under the OpenAI URL (a proxy set up
# for the other API): /v1/chat/completions forwarded to /api/chat.
import http.server, json, sys, urllib.request
up = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        b = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = {"model": b["model"], "messages": b["messages"], "stream": False}
        r = urllib.request.urlopen(urllib.request.Request(
            up + "/api/chat", json.dumps(req).encode()), timeout=5).read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(r)))
        self.end_headers()
        self.wfile.write(r)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 ollama_proxy.py "http://127.0.0.1:$PO" proxy.port 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s proxy.port ] && break; sleep 0.05; done
run_hy prompts -i cap -o px --endpoint "http://127.0.0.1:$(cat proxy.port)" --api openai \
	--lang any --num_threads 2
expect_rc 1 "prompts: an ollama answer to --api openai is a configuration error"
expect_err "answered in ollama's format.*use --api ollama" "prompts: --api ollama is named"
check "prompts (reverse): no sample failed" test "$(summary_value failed)" = 0

finish
