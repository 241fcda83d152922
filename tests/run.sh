#!/usr/bin/env bash
# Runs the whole suite: unit tests (cmocka, TAP output), fuzz corpus
# replays and CLI tests, once on the normal build with glibc's malloc
# checking (MALLOC_CHECK_=3 through libc_malloc_debug, freed memory
# perturbed) and once on the ASan+UBSan build, whose reports (leaks
# included) are collected from every process and each counted as a
# failure. Then `make lint`. With FUZZ_SECONDS set (make test
# TEST_FUZZ_SECONDS=N; 60 in CI), each libFuzzer target then runs that
# long. Ends with "N passed, N failed".
#
# Options pick parts of it (`make check` is --flavours build --no-lint
# --no-fuzz), the tally staying the same:
#   --flavours LIST  builds to test, comma-separated, of build (normal)
#                    and build/asan (ASan+UBSan); default both
#   --no-cli         no CLI tests (tests/cli, tests/servers)
#   --no-lint        no `make lint`
#   --no-fuzz        no fuzzing, even with FUZZ_SECONDS set
set -u
cd "$(dirname "$0")/.." || exit 1
usage() {
	echo "usage: tests/run.sh [--flavours build,build/asan] [--no-cli] [--no-lint] [--no-fuzz]" >&2
	exit 2
}
flavours=(build build/asan)
cli=1
lint=1
fuzz=1
while [ $# -gt 0 ]; do
	case "$1" in
	--flavours)
		[ $# -ge 2 ] || usage
		IFS=', ' read -r -a flavours <<<"$2"
		for f in "${flavours[@]}"; do
			case "$f" in build | build/asan) ;; *)
				echo "tests/run.sh: unknown flavour '$f' (build or build/asan)" >&2
				usage
				;;
			esac
		done
		[ ${#flavours[@]} -gt 0 ] || usage
		shift 2
		;;
	--flavours=*)
		set -- --flavours "${1#--flavours=}" "${@:2}"
		;;
	--no-cli) cli=0; shift ;;
	--no-lint) lint=0; shift ;;
	--no-fuzz) fuzz=0; shift ;;
	*) usage ;;
	esac
done
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

# passed TEXT / failed TEXT ENTRY [DETAIL]: one result line of a check that
# is not a TAP test of its own, tallied; DETAIL lines follow as comments.
passed() { echo "ok - $1"; pass=$((pass + 1)); }
failed() {
	echo "not ok - $1"
	[ -z "${3:-}" ] || sed 's/^/#   /' <<<"$3"
	failn=$((failn + 1)); failed_list+=("$2")
}

# Every sanitizer report goes to its own file here, whichever process (a
# test's child, a server) wrote it, so none is lost in a test's output.
SANDIR=$(mktemp -d "${TMPDIR:-/tmp}/hy-sanitizer.XXXXXX")
trap 'rm -rf "$SANDIR"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}:log_path=$SANDIR/asan
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$SANDIR/ubsan
export CMOCKA_MESSAGE_OUTPUT=TAP
MALLOC_DEBUG_LIB=$(ls /lib/*/libc_malloc_debug.so.0 /usr/lib/*/libc_malloc_debug.so.0 2>/dev/null | head -n 1)

# sanitizer_reports LABEL: one failure per report file written since the
# last call, with its first lines.
sanitizer_reports() {
	local f
	for f in "$SANDIR"/asan.* "$SANDIR"/ubsan.*; do
		[ -f "$f" ] || continue
		failn=$((failn + 1))
		failed_list+=("$1: sanitizer report $(basename "$f"): $(grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$f" | tr '\n' ' ')")
		echo "not ok - $1: sanitizer report:"
		sed -n '1,30p' "$f" | sed 's/^/#   /'
		rm -f "$f"
	done
}

for flavour in "${flavours[@]}"; do
	if [ "$flavour" = build ] && [ -n "$MALLOC_DEBUG_LIB" ]; then
		# glibc's heap consistency checks on the normal build: a
		# double free or an overrun into the heap's metadata aborts.
		# (test_slurm.sh takes them off for SLURM's daemons, which
		# deadlock under them.)
		export LD_PRELOAD=$MALLOC_DEBUG_LIB MALLOC_CHECK_=3 MALLOC_PERTURB_=165
	else
		unset LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_
	fi
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
			passed "$name: $out"
		else
			failed "$name: $out" "$t: $out"
		fi
	done
	if [ "$cli" -eq 1 ]; then
		echo "## CLI tests ($flavour)"
		for t in tests/cli/test_*.sh tests/servers/test_*.sh; do
			out=$(HY="$PWD/$flavour/hybridize" bash "$t" 2>&1)
			st=$?
			count "$t" <<<"$out"
			if [ $st -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
				failn=$((failn + 1)); failed_list+=("$t ($flavour): exit $st")
			fi
			sanitizer_reports "$t ($flavour)"
		done
	fi
	sanitizer_reports "$flavour"
done
unset LD_PRELOAD MALLOC_CHECK_ MALLOC_PERTURB_

# Static checks (cppcheck, clang-tidy with warnings as errors, formatting):
# in the suite so that they cannot rot unseen.
if [ "$lint" -eq 1 ]; then
	echo "## lint"
	if command -v cppcheck >/dev/null && command -v clang-tidy >/dev/null &&
		command -v clang-format >/dev/null; then
		if out=$(make --no-print-directory lint 2>&1); then
			passed "make lint (cppcheck, clang-tidy, clang-format)"
		else
			failed "make lint" "make lint" \
				"$(grep -E 'error|warning|^[^ ]+:[0-9]+:' <<<"$out" | head -n 20)"
		fi
	else
		echo "ok - make lint # SKIP cppcheck, clang-tidy or clang-format not installed"
		skipn=$((skipn + 1)); skipped_list+=("lint: cppcheck, clang-tidy or clang-format not installed")
	fi
fi

if [ "$fuzz" -eq 1 ] && [ -n "${FUZZ_SECONDS:-}" ]; then
	echo "## fuzzing (${FUZZ_SECONDS} s per target)"
	for t in build/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		mkdir -p "build/fuzz/corpus-$name"
		if out=$("$t" -max_total_time="$FUZZ_SECONDS" -artifact_prefix="build/fuzz/$name-" \
			"build/fuzz/corpus-$name" "fuzz/corpus/${name#fuzz_}" 2>&1); then
			passed "$name: $(grep -m 1 '^Done' <<<"$out")"
		else
			failed "$name: crash; input kept as build/fuzz/$name-*" \
				"$name: fuzzer found a crash" \
				"$(grep -E '^==[0-9]+==|SUMMARY|Test unit written' <<<"$out" | head -n 10)"
		fi
	done
fi

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
