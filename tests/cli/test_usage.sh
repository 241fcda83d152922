#!/usr/bin/env bash
# Usage errors exit 1 with a message and start nothing: no arguments, an
# unknown command, an unknown option, a missing value, a bad number, no
# SHARD, no -o. `hybridize --help` and `hybridize CMD --help` exit 0 and
# describe the command's options.
TEST_NAME=usage
. "$(dirname "$0")/lib.sh"
for v in $(env | grep -o '^SLURM_[A-Z_]*'); do unset "$v"; done

run_hy
expect_rc 1 "no arguments"
expect_err "usage: hybridize COMMAND" "no arguments: usage on stderr"
run_hy frobnicate "$SHARDS" -o o
expect_rc 1 "unknown command"
expect_err "frobnicate" "unknown command named"
run_hy --help
expect_rc 0 "hybridize --help"
for c in scan reshard extract; do
	check "hybridize --help lists $c" grep -q "^ *$c " out.txt
done

for c in scan reshard extract; do
	run_hy "$c" --help
	expect_rc 0 "$c --help"
	check "$c --help: usage line on stdout" grep -q "^usage: hybridize $c " out.txt
	opts="--output --jobs --rank --world --progress-interval --quiet"
	[ $c = scan ] && opts="$opts --min-faces --no-fsync"
	[ $c = reshard ] && opts="$opts --edits --no-fsync"
	for o in $opts; do
		check "$c --help mentions $o" grep -q -- "$o" out.txt
	done
	check "$c --help has no stray printf escapes (%%)" bash -c '! grep -q "%%" out.txt'
	run_hy "$c" -h
	expect_rc 0 "$c -h"

	run_hy "$c" "$SHARDS" -o "o-$c" --frobnicate
	expect_rc 1 "$c with an unknown option"
	expect_err "unknown option.*--frobnicate" "$c: unknown option named"
	run_hy "$c" "$SHARDS" -o "o-$c" -Z
	expect_rc 1 "$c with an unknown short option"
	run_hy "$c" "$SHARDS" -o
	expect_rc 1 "$c -o without a value"
	expect_err "'-o'.*value|value.*'-o'" "$c: says -o needs a value"
	run_hy "$c" "$SHARDS"
	expect_rc 1 "$c without -o"
	expect_err "-o" "$c: says -o is required"
	run_hy "$c" -o "o-$c"
	expect_rc 1 "$c without SHARD"
	expect_err "SHARD" "$c: says a SHARD is needed"
	run_hy "$c" "$SHARDS" -o "o-$c" -j 0
	expect_rc 1 "$c -j 0"
	run_hy "$c" "$SHARDS" -o "o-$c" -j lots
	expect_rc 1 "$c -j lots"
	expect_err "jobs|-j" "$c: names the bad option"
	run_hy "$c" "$SHARDS" -o "o-$c" --progress-interval -1
	expect_rc 1 "$c --progress-interval -1"
	run_hy "$c" "$SHARDS" -o "o-$c" --rank x --world 2
	expect_rc 1 "$c --rank x"
	check "$c: nothing started by any usage error (no output dir)" test ! -e "o-$c"
done
run_hy extract "$SHARDS" -o o-x --min-faces 2
expect_rc 1 "extract rejects scan's --min-faces"
run_hy scan "$SHARDS" -o o-s -e edits
expect_rc 1 "scan rejects reshard's -e"
check "nothing started" test ! -e o-x -a ! -e o-s
# Values the option table checks for every command alike: a choice, an
# upper bound, a number that is not one (NaN); one name, two meanings
# (--json FILE for verify, a flag for status).
run_hy prompts -i caps -o o-p --api bogus
expect_rc 1 "prompts --api bogus"
expect_err "prompts: --api: 'bogus' is not ollama, openai or none" "the choices are listed"
run_hy generate -p p -s "$SHARDS" -o o-g --leftover smudge
expect_rc 1 "generate --leftover smudge"
expect_err "generate: --leftover: 'smudge' is not blur, drop or keep" "the leftover policies are listed"
run_hy run -w o-r "$SHARDS" --lang any --image-api dalle
expect_rc 1 "run --image-api dalle"
expect_err "run: --image-api: 'dalle' is not a1111, openai, sdcpp or none" "the image APIs are listed"
run_hy generate -p p -s "$SHARDS" -o o-g --quality 101
expect_rc 1 "generate --quality 101"
expect_err "--quality is 1..100" "the bounds of --quality"
run_hy prompts -i caps -o o-p --timeout nan
expect_rc 1 "prompts --timeout nan"
expect_err "--timeout: 'nan' is not a number" "NaN is no number of seconds"
run_hy status --json=x o-s
expect_rc 1 "status --json=x"
expect_err "takes no value" "status --json is a flag"
run_hy verify "$SHARDS" -o o-v -e e --json
expect_rc 1 "verify --json without FILE"
expect_err "needs a value" "verify --json takes a file"
check "nothing started by the refused values" test ! -e o-p -a ! -e o-g -a ! -e o-r -a ! -e o-v
# "--" ends the options: a shard path that starts with '-'.
cp "$SHARDS/00000000.tar" ./-dash.tar
run_hy scan -o dash -q -- -dash.tar
expect_rc 0 "scan -- -dash.tar"
check "a shard named -dash.tar after --" json_eq dash/-dash.json "$FIX/expected/captions/00000000.json"
finish
