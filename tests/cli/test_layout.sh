#!/usr/bin/env bash
# The tree is the map: every library file is listed in the README's Layout
# section under its folder, and the library (src/ minus src/cli/) neither
# reads the environment nor prints to the terminal; the CLI does.
TEST_NAME=layout
. "$(dirname "$0")/lib.sh"

sed -n '/^## Layout/,/^Make targets/p' "$ROOT/README.md" >map.txt
check "README has a Layout section" test -s map.txt
missing=
for f in "$ROOT"/src/*/*.[ch] "$ROOT"/src/*/*.cc; do
	d=$(basename "$(dirname "$f")") b=$(basename "$f")
	[ "$d" = cli ] && continue
	stem=${b%.*}
	# listed as stem.[ch], stem.h, stem.[h|cc] under "src/DIR/"
	awk -v d="src/$d/" -v s="$stem" '
		index($0, "    src/") == 1 { cur = $1 }
		cur == d && $1 ~ "^" s "\\.(\\[|h|c)" { found = 1 }
		END { exit !found }' map.txt || missing="$missing src/$d/$b"
done
check "every library file is in the README map under its folder:${missing:- all}" test -z "$missing"
listed=$(grep -Eo '^    src/[a-z]+/' map.txt | sort -u | tr -d ' ' | tr '\n' ' ')
have=$(cd "$ROOT" && ls -d src/*/ | sort | tr '\n' ' ')
check "the map has every folder of src/ ($have)" test "$listed" = "$have"

# Calls, not words in comments: getenv( / secure_getenv(, and output to the
# terminal (printf(, puts(, stdout, stderr). Writing to a FILE * the caller
# gives (progress lines, summaries) is the caller's choice, not ours.
hits=$(cd "$ROOT" && grep -nE '\b(secure_)?getenv *\(|\b(printf|puts|perror) *\(|\bstd(out|err) *[,);]' \
	$(ls src/*/*.c src/*/*.cc | grep -v '^src/cli/') |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
check "the library reads no environment and prints nothing itself${hits:+: $hits}" test -z "$hits"
finish
