#!/usr/bin/env bash
# Smoke test of the fake LLM server (tests/servers/fake_llm.c): takes
# build/fake_llm from `make tools` (or $FAKE_LLM, a sanitizer build), then
# checks each endpoint, request validation, reply text options, every
# fault kind, other servers' behaviour (--mimic...), slots + latency,
# pipelining, many connections, --die-after, --die-after-ms and SIGTERM,
# and the capacity models of real servers (--http-threads, --loading-ms,
# /props, /slots, --batch-knee, --outage).
TEST_NAME=fake_llm
. "$(dirname "$0")/../cli/lib.sh"
. "$ROOT/tests/servers/fake_lib.sh"

gen() { # gen PROMPT -> an /api/generate body
	python3 -c 'import json,sys; print(json.dumps({"model":"m","prompt":sys.argv[1],"stream":False,"options":{"temperature":0.2,"seed":7,"num_predict":200}}))' "$1"
}
expect_code() { # expect_code N DESCRIPTION
	if [ "$code" = "$1" ]; then ok "$2 ($code)"; else
		fail "$2: expected HTTP $1, got $code (curl $cerr): $(head -c 300 body.txt)"
	fi
}
expect_text() { # expect_text EXPR WANT DESCRIPTION: JSON value in body.txt
	local got
	got=$(jv body.txt "$1")
	if [ "$got" = "$2" ]; then ok "$3"; else
		fail "$3: got '$got', want '$2'; body: $(head -c 300 body.txt)"
	fi
}

# --- start-up, endpoints, reply text ---------------------------------
start_fake
check "ready line names the port of --port-file" \
	grep -qx "fake_llm: listening on 127.0.0.1:$PORT" fl1.out
req /health
expect_code 200 "GET /health"
for p in /api/tags /api/version /v1/models /stats; do
	req $p
	if [ "$code" = 200 ] && jv body.txt 'd' >/dev/null; then ok "GET $p is JSON"; else
		fail "GET $p: $code $(head -c 200 body.txt)"
	fi
done
req /api/tags
check "/api/tags lists a model" test -n "$(jv body.txt 'd["models"][0]["name"]')"
req /
expect_code 200 "GET / (ollama's health probe)"

want='A photo of a person, someone someone at the someone, with someone.'
req /api/generate -d "$(gen 'Barack Obama at the Louvre, with Michelle.')"
expect_code 200 "ollama generate"
expect_text 'd["response"]' "$want" "generate: capitalized words become someone"
expect_text 'd["done"] and d["done_reason"]' stop "generate: done, done_reason stop"
req /api/chat -d '{"model":"m","stream":false,"messages":[{"role":"system","content":"Rewrite."},{"role":"user","content":"Barack Obama at the Louvre, with Michelle."}],"options":{"seed":1}}'
expect_code 200 "ollama chat"
expect_text 'd["message"]["role"]+"|"+d["message"]["content"]' "assistant|$want" "chat: assistant message"
req /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"system","content":"Rewrite."},{"role":"user","content":"Barack Obama at the Louvre, with Michelle."}],"temperature":0.2,"seed":1,"max_tokens":100}'
expect_code 200 "openai chat completion"
expect_text 'd["object"]+"|"+d["choices"][0]["message"]["content"]+"|"+d["choices"][0]["finish_reason"]' \
	"chat.completion|$want|stop" "openai: choices[0].message, finish_reason stop"
expect_text 'd["usage"]["total_tokens"] > 0' True "openai: usage"
req /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"one two three four"}],"max_tokens":3}'
expect_text 'd["choices"][0]["finish_reason"]+"|"+d["choices"][0]["message"]["content"]' \
	"length|A photo of" "max_tokens cuts the reply (finish_reason length)"
req /api/generate -H 'Transfer-Encoding: chunked' -d "$(gen 'Chunked Body')"
expect_text 'd["response"]' "A photo of a person, someone someone" "chunked request body"

# --- validation ----------------------------------------------------------
bad() { # bad PATH BODY DESCRIPTION [EXTRA CURL ARGS]
	local p=$1 b=$2 d=$3
	shift 3
	req "$p" -d "$b" "$@"
	if [ "$code" = 400 ] && jv body.txt 'd["error"]' >/dev/null; then
		ok "400: $d"
	else
		fail "$d: expected 400 with an error, got $code: $(head -c 200 body.txt)"
	fi
}
J=(-H 'Content-Type: application/json')
bad /api/generate '{"model":"m","prompt":"x"' "malformed JSON"
bad /api/generate '{"model":"m","prompt":"x","stream":true}' "generate stream true"
bad /api/generate '{"model":"m","prompt":"x"}' "generate without stream:false"
bad /api/generate '{"prompt":"x","stream":false}' "generate without model"
bad /api/generate '{"model":"m","prompt":"x","stream":false,"num_predict":5}' "num_predict outside options"
bad /api/generate '{"model":"m","prompt":"x","stream":false,"options":{"temperature":"hot"}}' "options.temperature not a number"
bad /api/generate '{"model":"m","prompt":7,"stream":false}' "prompt not a string"
bad /api/chat '{"model":"m","stream":false,"messages":[{"role":"robot","content":"x"}]}' "chat unknown role"
bad /api/chat '{"model":"m","stream":false,"prompt":"x"}' "chat without messages"
bad /v1/chat/completions '{"model":"m","messages":[{"role":"user","content":"x"}]}' "openai without Content-Type json"
bad /v1/chat/completions '{"model":"m","messages":[]}' "openai empty messages" "${J[@]}"
bad /v1/chat/completions '{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}' "openai stream true" "${J[@]}"
bad /v1/chat/completions '{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}' "openai temperature > 2" "${J[@]}"
bad /v1/chat/completions '{"model":"m","messages":[{"role":"user","content":"x"}],"options":{}}' "openai with ollama options" "${J[@]}"
check "openai errors are {error:{message,type}}" test "$(jv body.txt 'd["error"]["type"]')" = invalid_request_error
req /nowhere
expect_code 404 "unknown path"
req /api/generate
expect_code 405 "GET on a POST endpoint"
python3 -c "print('{\"model\":\"m\",\"stream\":false,\"prompt\":\"' + 'Ab '*340000 + '\"}')" >big1.json
python3 -c "print('{\"model\":\"m\",\"stream\":false,\"prompt\":\"' + 'x'*1100000 + '\"}')" >big2.json
req /api/generate --data-binary @big1.json
expect_code 200 "a 1 MB body (Expect: 100-continue)"
req /api/generate --data-binary @big2.json
expect_code 413 "a body over 1 MiB"

# Pipelining: three requests in one write, three replies in order.
cat >pipe.py <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
out = b""
for w in ("Alice", "Bob", "Carol"):
    b = json.dumps({"model": "m", "prompt": w + " x", "stream": False}).encode()
    out += b"POST /api/generate HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b)
s.sendall(out)
f = s.makefile("rb")
for _ in range(3):
    n = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    print(json.loads(f.read(n))["response"])
PY
check "pipelined requests answered in order" \
	test "$(python3 pipe.py "$PORT" | tr '\n' '|')" = "A photo of a person, someone x|A photo of a person, someone x|A photo of a person, someone x|"

# Many connections at once, each with a request in flight.
cat >many.py <<'PY'
import json, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
b = json.dumps({"model": "m", "prompt": "Many", "stream": False}).encode()
r = b"POST /api/generate HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b)
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    s.sendall(r)
good = 0
for s in socks:
    s.settimeout(10)
    d = b""
    while b"\r\n\r\n" not in d or not d.rstrip().endswith(b"}"):
        c = s.recv(65536)
        if not c:
            break
        d += c
    good += d.startswith(b"HTTP/1.1 200")
for s in socks:  # only now, so that the server held all n at once
    s.close()
print(good)
PY
check "2000 concurrent connections all answered" test "$(python3 many.py "$PORT" 2000)" = 2000

stop_fake
check "SIGTERM: exit 0" test "$rc" -eq 0
check "on exit the counters go to stderr as JSON" \
	test "$(tail -n 1 "$LOG" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["max_connections"] >= 2000 and d["in_flight"] == 0)')" = True

# --- API key, reply options -------------------------------------------
start_fake --api-key s3cret --reply-mode echo --reply-prefix 'Prompt: ' --reply-quotes
req /api/generate -d "$(gen 'Barack Obama')"
expect_code 401 "--api-key: no Authorization"
req /api/generate -H 'Authorization: Bearer wrong' -d "$(gen 'Barack Obama')"
expect_code 401 "--api-key: wrong key"
check "401 quotes the key that was sent" grep -q 'got: Bearer wrong' body.txt
req /api/generate -H 'Authorization: Bearer s3cret' -d "$(gen 'Barack Obama')"
expect_code 200 "--api-key: right key"
expect_text 'd["response"]' 'Prompt: "Barack Obama"' "--reply-mode echo --reply-prefix --reply-quotes"
req /health
expect_code 200 "/health needs no key"
stop_fake

# --- --model, --lenient ----------------------------------------------
start_fake --model qwen2.5:7b --lenient
req /api/generate -d '{"model":"llama3","prompt":"x","stream":false}'
expect_code 404 "--model: another model is not found"
req /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"qwen2.5:7b","messages":[{"role":"user","content":"x"}],"extra_field":1}'
expect_code 200 "--model: the served one; --lenient: unknown field accepted"
req /api/tags
expect_text 'd["models"][0]["name"]' qwen2.5:7b "/api/tags lists the --model names"
stop_fake

# --- other servers' behaviour ------------------------------------------
start_fake --mimic llama.cpp
req /api/chat -d '{"model":"m","stream":false,"messages":[{"role":"user","content":"Barack Obama at the Louvre, with Michelle."}],"options":{"num_predict":2}}'
expect_code 200 "--mimic llama.cpp: /api/chat answered"
expect_text 'd["object"]+"|"+d["choices"][0]["message"]["content"]+"|"+d["choices"][0]["finish_reason"]+"|"+str("message" in d)' \
	"chat.completion|$want|stop|False" "--mimic llama.cpp: /api/chat in the OpenAI format, options ignored"
req /api/generate -d "$(gen 'Barack Obama')"
expect_code 404 "--mimic llama.cpp: no /api/generate"
check "--mimic llama.cpp: OpenAI error object" test "$(jv body.txt 'd["error"]["code"]')" = 404
req /api/version
expect_code 404 "--mimic llama.cpp: no /api/version"
req /v1/chat/completions -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"x"}]}'
expect_code 200 "--mimic llama.cpp: /v1/chat/completions as usual"
stop_fake
start_fake --reasoning
oai() { req /v1/chat/completions -H 'Content-Type: application/json' -d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Barack Obama at the Louvre, with Michelle.\"}]$1}"; }
oai ',"max_tokens":10'
expect_text 'repr(d["choices"][0]["message"]["content"])+"|"+d["choices"][0]["finish_reason"]+"|"+str(len(d["choices"][0]["message"]["reasoning_content"].split()))+"|"+str(d["usage"]["completion_tokens"])' \
	"None|length|10|10" "--reasoning: max_tokens spent reasoning: content null, finish_reason length"
check "--reasoning: reasoning under both names" test "$(jv body.txt 'd["choices"][0]["message"]["reasoning"] == d["choices"][0]["message"]["reasoning_content"]')" = True
oai ',"max_tokens":28'
expect_text 'd["choices"][0]["message"]["content"]+"|"+d["choices"][0]["finish_reason"]' \
	"A photo of|length" "--reasoning: what the reasoning leaves goes to the answer"
oai ''
expect_text 'd["choices"][0]["message"]["content"]+"|"+d["choices"][0]["finish_reason"]+"|"+str(len(d["choices"][0]["message"]["reasoning"].split()))' \
	"$want|stop|25" "--reasoning: no budget: reasoning, then the whole answer"
stop_fake
# ollama's think: a model that cannot think refuses think true, takes false.
start_fake
thk() { req "$1" -d "{\"model\":\"m\",\"stream\":false,$2,\"options\":{\"num_predict\":10}$3}"; }
U='"prompt":"Barack Obama at the Louvre, with Michelle."'
CU='"messages":[{"role":"user","content":"Barack Obama at the Louvre, with Michelle."}]'
thk /api/generate "$U" ',"think":false'
expect_code 200 "think false: accepted by a model that cannot think"
check "think false: no thinking field" test "$(jv body.txt '"thinking" in d')" = False
thk /api/generate "$U" ',"think":true'
expect_code 400 "think true: a model that cannot think refuses"
check "think true: ollama's message" grep -q 'does not support thinking' body.txt
thk /api/chat "$CU" ',"think":"high"'
expect_code 400 "think high: refused the same way on /api/chat"
thk /api/generate "$U" ',"think":"max"'
expect_code 400 "think: a level other than high, medium, low"
stop_fake
start_fake --thinking
thk /api/generate "$U" ''
expect_text 'repr(d["response"])+"|"+d["done_reason"]+"|"+str(len(d["thinking"].split()))+"|"+str(d["eval_count"])' \
	"''|length|10|10" "--thinking: think absent: num_predict spent thinking, empty response"
thk /api/chat "$CU" ',"think":true'
expect_text 'repr(d["message"]["content"])+"|"+d["done_reason"]+"|"+str(len(d["message"]["thinking"].split()))' \
	"''|length|10" "--thinking: chat, think true: the same, thinking in message"
thk /api/generate "$U" ',"think":"low"'
expect_text 'repr(d["response"])' "''" "--thinking: think low thinks too"
thk /api/generate "$U" ',"think":false'
expect_text 'd["response"]+"|"+str("thinking" in d)' \
	"A photo of a person, someone someone at the someone,|False" "--thinking: think false: the answer at once"
req /api/chat -d "{\"model\":\"m\",\"stream\":false,$CU}"
expect_text 'd["message"]["content"]+"|"+d["done_reason"]+"|"+str(len(d["message"]["thinking"].split()))' \
	"$want|stop|25" "--thinking: no budget: thinking, then the whole answer"
stop_fake

# --- faults ------------------------------------------------------------
start_fake --slow-interval-ms 5
P=$(gen 'Barack Obama')
fault() { req /api/generate -H "X-Fault: $1" -d "$P" "${@:2}"; }
fault 429
expect_code 429 "X-Fault 429"
check "429 carries Retry-After: 1" grep -qi '^Retry-After: 1' head.txt
fault 500
expect_code 500 "X-Fault 500"
fault 503
expect_code 503 "X-Fault 503"
fault garbage
if [ "$code" = 200 ] && ! jv body.txt d >/dev/null; then ok "X-Fault garbage: 200, body not JSON"; else
	fail "garbage: $code $(head -c 100 body.txt)"; fi
fault half
check "X-Fault half: curl sees a partial body (exit 18)" test "$cerr" = 18
fault reset
check "X-Fault reset: curl sees a reset (exit 56)" test "$cerr" = 56
fault refuse
expect_text 'd["response"]' "I'm sorry, but I can't help with that." "X-Fault refuse"
fault empty
expect_text 'repr(d["response"])' "''" "X-Fault empty"
t0=$(date +%s%N)
fault hang --max-time 0.5
t1=$(date +%s%N)
check "X-Fault hang: no answer until the client gives up (exit 28)" \
	test "$cerr" = 28 -a $(((t1 - t0) / 1000000)) -ge 450
fault slow-body --max-time 0.3
check "X-Fault slow-body: times out with a partial body" test "$cerr" = 28 -a -s body.txt
fault slow-body --max-time 20
expect_text 'd["response"]' "A photo of a person, someone someone" "X-Fault slow-body: complete in the end"
fault redirect
check "X-Fault redirect: 307 to https on the same path" \
	bash -c "[ $code = 307 ] && grep -qi '^Location: https://127.0.0.1/api/generate' head.txt"
fault echo-key -H 'Authorization: Bearer sk-echoed'
check "X-Fault echo-key: 400 quoting the Authorization header" \
	bash -c "[ $code = 400 ] && grep -q 'echo-key: Bearer sk-echoed' body.txt"
fault endless --max-time 0.5
check "X-Fault endless: 200, and the body still coming when the client gives up" \
	bash -c "[ $cerr = 28 ] && grep -q '^HTTP/1.1 200' head.txt && [ \$(stat -c %s body.txt) -gt 65536 ]"
req /api/generate -d "$(gen 'Barack Obama [[fault:500]]')"
expect_code 500 "[[fault:500]] in the prompt"
req /api/generate -d "$(gen 'Once [[fault:503:2]]')"
c1=$code
req /api/generate -d "$(gen 'Once [[fault:503:2]]')"
c2=$code
req /api/generate -d "$(gen 'Once [[fault:503:2]]')"
check "[[fault:503:2]]: fails twice, then succeeds without the marker" \
	test "$c1 $c2 $code $(jv body.txt 'd["response"]')" = "503 503 200 A photo of a person, someone "
req /stats
expect_text 'd["faults"]["hang"], d["faults"]["reset"], d["cancelled"] >= 1' "1 1 True" "/stats counts faults"
expect_text 'd["faults"]["redirect"], d["status"]["307"], d["pumped_bytes"] > 1000000' "1 1 True" "/stats counts redirects and endless bytes"
stop_fake
start_fake --redirect-to 'http://elsewhere.invalid:9/x'
fault redirect
check "--redirect-to sets the Location" grep -qi '^Location: http://elsewhere.invalid:9/x' head.txt
stop_fake

# --fault KIND:RATE is seeded: the same seed gives the same statuses.
codes() {
	start_fake --fault 500:0.3 --fault 429:0.2 --seed "$1"
	local s="" k
	for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
		req /api/generate -d "$P"
		s="$s$code "
	done
	stop_fake
	echo "$s"
}
s1=$(codes 5)
s2=$(codes 5)
check "--fault rates: same seed, same faults ($s1)" test "$s1" = "$s2"
mixed() { [[ "$s1" == *500* && "$s1" == *429* && "$s1" == *200* ]]; }
check "--fault rates: both kinds and successes occur" mixed

# --- slots and latency ---------------------------------------------------
start_fake --slots 2 --latency-ms 200
t0=$(date +%s%N)
pids=()
for k in 1 2 3 4 5 6 7 8; do
	curl -s -o /dev/null --max-time 5 "$B/api/generate" -d "$P" &
	pids+=($!)
done
wait "${pids[@]}"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
check "8 requests, 2 slots, 200 ms each: ${ms} ms (~800)" test "$ms" -ge 780 -a "$ms" -lt 1400
req /stats
expect_text 'd["max_in_flight"], d["max_queued"] >= 1, d["ok"]' "2 True 8" "/stats: max_in_flight == --slots"
# Delayed replies keep the connection alive and pipelining in order.
check "pipelined requests with latency, one connection" \
	test "$(python3 pipe.py "$PORT" | tr '\n' '|')" = "A photo of a person, someone x|A photo of a person, someone x|A photo of a person, someone x|"
req /stats
expect_text 'd["accepted"], d["cancelled"]' "11 0" "... all three on the one connection"
stop_fake

# --- capacity models: HTTP threads, loading, batching, outages ----------
# Timed by counters and by waiting for events, never by how long things
# took: a loaded CI machine only makes the waits longer.
cat >threads.py <<'PY'
# The keep-alive life of llama-server's HTTP threads (--http-threads 2
# --keepalive-s 1 --keepalive-max 3): prints one word per step.
import json, socket, sys
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port))
def send(s, path):
    s.sendall(b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % path.encode())
def read(s, timeout=20):
    """(status, close?, body) or None at EOF; raises socket.timeout."""
    s.settimeout(timeout)
    d = b""
    while b"\r\n\r\n" not in d:
        c = s.recv(65536)
        if not c:
            return None
        d += c
    h, b = d.split(b"\r\n\r\n", 1)
    lines = h.decode().lower().split("\r\n")
    n = int([l for l in lines if l.startswith("content-length:")][0][15:])
    while len(b) < n:
        b += s.recv(65536)
    return lines[0].split()[1], "connection: close" in lines, b
def eof(s):
    s.settimeout(20)
    return "eof" if s.recv(100) == b"" else "data"
def stats(*keys):
    s = conn()
    send(s, "/stats")
    d = json.loads(read(s)[2])
    s.close()
    return ",".join(str(d[k]) for k in keys)
out = []
a, b, c = conn(), conn(), conn()
for s in (a, b):
    send(s, "/health")
    out.append(read(s)[0])
send(c, "/health")  # a third connection: no thread, not read
out.append(stats("requests", "http_threads_busy", "conn_waiting"))
a.close()  # its thread takes c, whose request was waiting
out.append(read(c)[0])
out += [eof(b), eof(c)]  # idle for --keepalive-s: the server closes
out.append(stats("keepalive_idle_closes", "thread_waits"))
d = conn()
for k in range(3):  # --keepalive-max 3: the third answer closes
    send(d, "/health")
    r = read(d)
    out.append(r[0] + ("close" if r[1] else ""))
out.append(eof(d))
e = conn()
send(e, "/nowhere")  # httplib closes after an error
r = read(e)
out.append(r[0] + ("close" if r[1] else ""))
out.append(stats("keepalive_max_closes"))
print(" ".join(out))
PY
start_fake --http-threads 2 --keepalive-s 1 --keepalive-max 3
got=$(python3 threads.py "$PORT" 2>&1)
want="200 200 2,2,1 200 eof eof 2,1 200 200 200close eof 404close 1"
check "--http-threads: a connection waits unread for a thread, keeps it until idle --keepalive-s or --keepalive-max; errors close ($got)" \
	test "$got" = "$want"
stop_fake

start_fake --loading-ms 1500
req /health
expect_code 503 "--loading-ms: /health while loading"
expect_text 'd["error"]["message"], d["error"]["type"], d["error"]["code"]' \
	"Loading model unavailable_error 503" "--loading-ms: llama-server's error body"
req /api/generate -d "$P"
expect_code 503 "--loading-ms: generation while loading"
req /stats
expect_text 'd["loading"], d["loading_503"]' "True 2" "--loading-ms: /stats answers while loading"
k=0
while req /health && [ "$code" != 200 ] && [ $k -lt 400 ]; do
	sleep 0.05
	k=$((k + 1))
done
expect_code 200 "--loading-ms: ready in the end"
stop_fake

# 9 requests at once, 8 slots, 500 ms, knee 4: the n-th to enter holds its
# slot 500 * (1 + (n-1)/4) ms; the 9th queues and enters with 8 in the
# slots when the first leaves. The sum and the largest are exact.
start_fake --slots 8 --latency-ms 500 --batch-knee 4
check "--batch-knee: 9 requests answered" test "$(python3 many.py "$PORT" 9)" = 9
req /stats
expect_text 'd["slot_ms"], d["max_slot_ms"], d["max_in_flight"], d["max_queued"]' \
	"8875 1375 8 1" "--batch-knee: latency grows with the requests in the slots"
stop_fake

# Two restarts. The first (at 4 s, 3 s down: long enough for a loaded
# machine to get its requests in before and to see the port closed)
# catches one request in the slot and one queued; after it the server
# loads for 300 ms again.
start_fake --outage 4000:3000 --outage 7500:200 --loading-ms 300 --slots 1 --latency-ms 30000
k=0
while req /health && [ "$code" != 200 ] && [ $k -lt 400 ]; do
	sleep 0.02
	k=$((k + 1))
done
curl -s -o /dev/null --max-time 30 "$B/api/generate" -d "$P" 2>/dev/null &
c1pid=$!
curl -s -o /dev/null --max-time 30 "$B/api/generate" -d "$P" 2>/dev/null &
c2pid=$!
k=0
while req /stats && [ "$(jv body.txt 'd["in_flight"] + d["queued"]')" != 2 ] && [ $k -lt 400 ]; do
	sleep 0.02
	k=$((k + 1))
done
req /slots
cp body.txt slots.txt
req /stats
expect_text 'd["outages"], d["in_flight"], d["queued"]' "0 1 1" "--outage: before it, one request in the slot, one queued"
check "GET /slots: the busy slot is_processing" test "$(jv slots.txt '[s["is_processing"] for s in d]')" = "[True]"
wait $c1pid
e1=$?
wait $c2pid
e2=$?
check "--outage: both requests reset (curl exit 56: $e1 $e2)" test "$e1 $e2" = "56 56"
seen=" "
k=0
while [ $k -lt 1000 ]; do # 200 after a refusal and a 503 (loading)
	req /health
	s=${code}_$cerr
	[[ "$seen" == *" $s "* ]] || seen="$seen$s "
	[ "$code" = 200 ] && [[ "$seen" == *" 000_7 "* ]] && break
	sleep 0.02
	k=$((k + 1))
done
check "--outage: refused (curl 7), then 503 while loading, then 200 (seen:$seen)" \
	bash -c "[[ '$seen' == *' 000_7 '* && '$seen' == *' 503_0 '* ]]"
k=0
while [ "$(jv body.txt 'd.get("outages")' 2>/dev/null)" != 2 ] && [ $k -lt 1000 ]; do
	req /stats
	sleep 0.02
	k=$((k + 1))
done
expect_text 'd["outages"], d["outage_lost_requests"], d["outage_reset_connections"] >= 2, d["cancelled"]' \
	"2 2 True 0" "--outage: /stats counts the restarts and the requests lost"
stop_fake
check "--outage: the exit line has the totals" \
	test "$(tail -n 1 "$LOG" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["outages"], d["outage_lost_requests"])')" = "2 2"

# --- llama-server's endpoints ------------------------------------------
# llama-server's /props and /slots.
start_fake --slots 3 --model ggml-q4
req /props
expect_text 'd["total_slots"], d["default_generation_settings"]["n_ctx"], d["model_path"], d["model_alias"]' \
	"3 4096 /models/ggml-q4.gguf ggml-q4" "GET /props: llama-server's total_slots, n_ctx, model_path"
req /slots
expect_text '[(s["id"], s["is_processing"]) for s in d]' \
	"[(0, False), (1, False), (2, False)]" "GET /slots: one object per slot"
stop_fake

# --- dying ---------------------------------------------------------------
start_fake --die-after 3
s=""
for k in 1 2 3; do
	req /api/generate -d "$P"
	s="$s$code "
done
req /api/generate -d "$P"
check "--die-after 3: three answers, then connection refused" \
	test "$s$cerr" = "200 200 200 7"
wait "$FLPID"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "exiting: --die-after" "$LOG"; then
	ok "--die-after: exit 0 with a reason"
else
	fail "--die-after: exit $rc; $(head -c 300 "$LOG")"
fi

start_fake --die-after-ms 300
req /health
c1=$code
sleep 0.6
req /health
check "--die-after-ms 300: up, then gone" test "$c1 $cerr" = "200 7"
wait "$FLPID"
finish
