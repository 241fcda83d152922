#!/usr/bin/env bash
# Runs the whole suite: unit tests (cmocka, TAP output) and CLI tests, once
# on the normal build and once on the ASan+UBSan build. Ends with the line
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0
failn=0
skipn=0
failed_list=()
skipped_list=()

count() { # reads TAP lines on stdin, echoes them, tallies
	local label=$1 line
	while IFS= read -r line; do
		case "$line" in
		# A test that cannot run here (no root for SLURM, say) says
		# "ok - ... # SKIP reason": counted apart, never as a pass.
		"ok "*"# SKIP"*) skipn=$((skipn + 1)); skipped_list+=("$label: $line") ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) failn=$((failn + 1)); failed_list+=("$label: $line") ;;
		esac
		printf '%s\n' "$line"
	done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP

for flavour in build build/asan; do
	echo "## unit tests ($flavour)"
	for t in "$flavour"/unit/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		st=$?
		count "$t" <<<"$out"
		if [ $st -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
			failn=$((failn + 1)); failed_list+=("$t: exit $st")
		fi
	done
	echo "## fuzz corpus replay ($flavour)"
	for t in "$flavour"/replay/fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		if out=$("$t" "fuzz/corpus/${name#fuzz_}" 2>&1); then
			echo "ok - $name: $out"
			pass=$((pass + 1))
		else
			echo "not ok - $name: $out"
			failn=$((failn + 1)); failed_list+=("$t: $out")
		fi
	done
	echo "## CLI tests ($flavour)"
	for t in tests/cli/test_*.sh tests/servers/test_*.sh; do
		out=$(HY="$PWD/$flavour/hybridize" bash "$t" 2>&1)
		st=$?
		count "$t" <<<"$out"
		if [ $st -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
			failn=$((failn + 1)); failed_list+=("$t ($flavour): exit $st")
		fi
	done
done

if [ ${#failed_list[@]} -gt 0 ]; then
	echo "## failures"
	printf '  %s\n' "${failed_list[@]}"
fi
if [ ${#skipped_list[@]} -gt 0 ]; then
	echo "## skipped ($skipn)"
	printf '  %s\n' "${skipped_list[@]}"
fi
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
