#!/usr/bin/env bash
# ollama lets a thinking model (qwen3, deepseek-r1) think unless the request
# says "think": false, and the thinking spends num_predict (--max-tokens)
# and the timeout before any answer. prompts sends "think": false by
# default, on /api/generate and /api/chat, which a model that cannot think
# accepts too; --think leaves the field out (the model's default) and an
# answer whose budget went to thinking is declined as such. --think means
# nothing to --api openai: a usage error there.
TEST_NAME=ollama_think
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
keys() { json_keys "$1"; }

mkdir cap
cat >cap/s1.json <<'EOF'
{"k1.json": "Barack Obama at the Louvre", "k2.json": "A woman walking a dog"}
EOF
start_fake PT --thinking  # a thinking model: 25 words of thinking first
start_fake PN             # a model that cannot think (think true: 400)

for chat in "" --chat; do
	w=${chat:-generate}
	# Default: think false. 10 tokens would all go to thinking otherwise.
	run_hy prompts -i cap -o "d$w" --endpoint "http://127.0.0.1:$PT" $chat --lang any --max-tokens 10 -q
	expect_rc 0 "$w: thinking model, default"
	check "$w: default: the model answered without thinking (prompts written)" \
		test "$(keys "d$w/s1.json")" = "k1.json k2.json"
	check "$w: default: the prompt is the answer" \
		grep -q '"k2.json": "A photo of a person, someone woman walking a dog"' "d$w/s1.json"

	# --think: the field is left out, the model thinks; 10 tokens end it.
	run_hy prompts -i cap -o "t$w" --endpoint "http://127.0.0.1:$PT" $chat --lang any --max-tokens 10 --think --retries 3
	expect_rc 0 "$w: --think, budget spent thinking: declined, not failed"
	check "$w: --think: both declined" test "$(summary_value declined)" = 2
	check "$w: --think: no retry" test "$(summary_value retries)" = 0
	expect_err "sample 'k1.json': LLM declined: cut at --max-tokens before any answer: the model spent them reasoning" \
		"$w: --think: the decline says why"

	# --think with room: the answer, not the thinking, is the prompt.
	run_hy prompts -i cap -o "r$w" --endpoint "http://127.0.0.1:$PT" $chat --lang any --max-tokens 200 --think -q
	expect_rc 0 "$w: --think with room for the answer"
	check "$w: --think with room: prompts are the answers" json_eq "r$w/s1.json" "d$w/s1.json"

	# A model that cannot think takes "think": false, and --think too.
	run_hy prompts -i cap -o "n$w" --endpoint "http://127.0.0.1:$PN" $chat --lang any -q
	expect_rc 0 "$w: a model that cannot think accepts the default"
	check "$w: no thinking model: prompts written" test "$(keys "n$w/s1.json")" = "k1.json k2.json"
	run_hy prompts -i cap -o "m$w" --endpoint "http://127.0.0.1:$PN" $chat --lang any --think -q
	expect_rc 0 "$w: a model that cannot think, --think"
	check "$w: no thinking model, --think: prompts written" test "$(keys "m$w/s1.json")" = "k1.json k2.json"
done

# Nothing was refused: think true (a 400 from a model that cannot think)
# was never sent.
for p in "$PT" "$PN"; do
	check "no request refused by the server on port $p" test "$(curl -s --max-time 5 \
		"http://127.0.0.1:$p/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["400"])')" = 0
done

# A journal made without --think is not resumed with it (other answers).
mkdir j
cp cap/s1.json j/
printf '{"k3.json": "A man [[fault:hang]]"}\n' >j/s2.json
run_hy prompts -i j -o jo --endpoint "http://127.0.0.1:$PT" --lang any --timeout 0.5 --retries 0 -q
check "journal: a run that leaves one" bash -c 'ls -a jo | grep -q "\.s2\.journal"'
run_hy prompts -i j -o jo --endpoint "http://127.0.0.1:$PT" --lang any --think --timeout 0.5 --retries 0 -q
expect_err "s2.json: journal made with other options" "journal: --think starts it afresh"

run_hy prompts -i cap -o x --endpoint "http://127.0.0.1:$PT" --api openai --think -q
expect_rc 1 "--think with --api openai is a usage error"
expect_err "--think is ollama's" "--think with --api openai: the message says why"

run_hy prompts --help
check "prompts --help documents --think" grep -q -- "--think" out.txt
run_hy run --help
check "run --help documents --think" grep -q -- "--think" out.txt

finish
