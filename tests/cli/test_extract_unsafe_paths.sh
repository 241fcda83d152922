#!/usr/bin/env bash
# extract refuses a shard holding a member with an absolute path or a '..'
# component (also through a hard link target): exit 2, the message names the
# member, nothing is written outside DIR, and no DIR/NAME (nor temporary) is
# left for that shard; the other shards are extracted.
TEST_NAME=extract_unsafe_paths
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

mkdir work
tt build work/abs.tar <<PY
[("k1.jpg", "fine"), ("$T/escaped-abs.txt", "evil"), ("k2.jpg", "late")]
PY
tt build work/dotdot.tar <<'PY'
[("k1.jpg", "fine"), ("../escaped-dotdot.txt", "evil"), ("k2.jpg", "late")]
PY
tt build work/deep.tar <<'PY'
[("a/k1.jpg", "fine"), ("a/b/../../../escaped-deep.txt", "evil")]
PY
tt build work/hard.tar <<'PY'
[("k1.jpg", "fine"), ("k2.jpg", {"hardlink": "../escaped-hard.txt"})]
PY
tt build work/okdots.tar <<'PY'
[("a..b/k1.jpg", "dots in a name are fine"), ("k..2.jpg", "also fine")]
PY
cd work || exit 1
run_hy extract abs.tar dotdot.tar deep.tar hard.tar okdots.tar "$SHARDS/00000000.tar" -o out -q
expect_rc 2 "extract with unsafe member paths"
expect_err "abs\.tar.*$T/escaped-abs\.txt" "absolute member named"
expect_err "dotdot\.tar.*\.\./escaped-dotdot\.txt" "'../' member named"
expect_err "deep\.tar.*a/b/\.\./\.\./\.\./escaped-deep\.txt" "deep '..' member named"
expect_err "hard\.tar.*\.\./escaped-hard\.txt" "'..' hard link target named"
check "summary says 4 failed" grep -Eq "failed +4\$" out.txt
cd "$T" || exit 1
for f in escaped-abs.txt escaped-dotdot.txt escaped-deep.txt escaped-hard.txt; do
	check "nothing written outside DIR: no $f" bash -c \
		'[ -z "$(find "$0" / -maxdepth 1 -name "$1" 2>/dev/null)" ] && [ -z "$(find "$0" -name "$1")" ]' "$T" "$f"
done
for n in abs dotdot deep hard; do
	check "no folder left for $n.tar" test ! -e "work/out/$n"
done
check "no temporaries left" test -z "$(ls -A work/out | grep '^\.')"
check "a name merely containing '..' is fine" cmp -s work/out/okdots/a..b/k1.jpg <(printf 'dots in a name are fine')
check "the good shard is extracted" test "$(find work/out/00000000 -type f | wc -l)" = 120
finish
