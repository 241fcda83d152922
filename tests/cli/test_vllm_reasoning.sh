#!/usr/bin/env bash
# vLLM serving a reasoning model (DeepSeek-R1, Qwen3) with a reasoning
# parser puts the thinking in message.reasoning_content / reasoning; when
# max_tokens ends it before the answer, content is null and finish_reason
# "length". Such a sample is declined (reported, journaled, left out), as
# any answer cut at --max-tokens is: not taken for a broken answer and
# retried until it fails. A budget that leaves room gives the answer.
TEST_NAME=vllm_reasoning
. "$(dirname "$0")/lib.sh"

[ -x "$FAKE" ] || { fail "build/fake_llm missing (make tools)"; finish; }
keys() { json_keys "$1"; }

mkdir cap
cat >cap/s1.json <<'EOF'
{"k1.json": "Barack Obama at the Louvre", "k2.json": "A woman walking a dog"}
EOF
start_fake PV --reasoning --model qwen3

# The fake's reasoning is 25 words: 10 tokens end inside it.
run_hy prompts -i cap -o cut --endpoint "http://127.0.0.1:$PV" --api openai \
	--model_name qwen3 --lang any --max-tokens 10 --retries 3
expect_rc 0 "max_tokens spent reasoning: declined, not failed"
check "every sample declined" test "$(summary_value declined)" = 2
check "none failed" test "$(summary_value failed)" = 0
check "no retry" test "$(summary_value retries)" = 0
check "one request per sample, no retry sent" \
	test "$(curl -s "http://127.0.0.1:$PV/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["llm_requests"])')" = 2
expect_err "s1.json: sample 'k1.json': LLM declined: cut at --max-tokens before any answer: the model spent them reasoning" \
	"the decline says the budget went to reasoning"
check "the shard is done, with no prompts" test "$(python3 -c 'import json; print(len(json.load(open("cut/s1.json"))))')" = 0
check "the shard is finished (no journal left)" bash -c '! ls -a cut | grep -q journal'

# Room for the reasoning and the answer: prompts, and the reasoning is
# not taken for the answer.
run_hy prompts -i cap -o full --endpoint "http://127.0.0.1:$PV" --api openai \
	--model_name qwen3 --lang any --max-tokens 200 -q
expect_rc 0 "max_tokens with room for the answer"
check "both samples have prompts" test "$(keys full/s1.json)" = "k1.json k2.json"
check "the prompt is the answer, not the reasoning" \
	grep -q '"k1.json": "A photo of a person, someone someone at the someone"' full/s1.json

# Without --max-tokens vLLM's own limit applies; the answer comes whole.
run_hy prompts -i cap -o nolimit --endpoint "http://127.0.0.1:$PV" --api openai \
	--model_name qwen3 --lang any -q
expect_rc 0 "no --max-tokens"
check "no --max-tokens: prompts written" test "$(keys nolimit/s1.json)" = "k1.json k2.json"

finish
