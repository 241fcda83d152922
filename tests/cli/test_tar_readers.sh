#!/usr/bin/env bash
# Shards read by our own ustar code (src/tar/ustar.c, the default) and by
# libarchive alone (HYBRIDIZE_TAR_READER=libarchive) give the same bytes
# out of scan, reshard and extract: on the fixtures, on every tar dialect,
# and on a shard whose plain ustar members are followed by a pax one, a
# link and more plain ones (where our walk hands over to libarchive).
TEST_NAME=tar_readers
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

# both ARGS...: runs the tool twice, once each way; "@" in ARGS stands
# for ours/ and lib/ (output folders). Exit codes in rc_ours, rc_lib.
both() {
	mkdir -p ours lib
	"$HY" "${@//@/ours/}" >ours.out 2>ours.err
	rc_ours=$?
	HYBRIDIZE_TAR_READER=libarchive "$HY" "${@//@/lib/}" >lib.out 2>lib.err
	rc_lib=$?
}
same_trees() { diff -r "ours/$1" "lib/$1" >/dev/null; }
# Mode and mtime of every extracted file and link, which diff -r does not
# see (folders made for a path, not by a member, are as old as the run).
stat_tree() { (cd "$1" && find . ! -type d -printf '%p %y %m %T@\n' | sort); }

# Plain ustar members, a long name that needs a pax header, a symbolic
# link, a path split over ustar's prefix field, a folder, more plain ones.
long=$(printf 'k%.0s' $(seq 150))
tt build mixed.tar pax <<PY
[
 ("k1.jpg", {"random": 3000, "seed": 1}), ("k1.txt", "cap 1"), ("k1.json", '{"caption": "cap 1"}'),
 ("$long.txt", "long name"),
 ("k2.lnk", {"symlink": "k1.jpg"}),
 ("part/$(printf 'd%.0s' $(seq 90))/k3.jpg", {"random": 700, "seed": 3}),
 ("sub/", {"dir": True}),
 ("sub/k4.jpg", {"random": 5000, "seed": 4}), ("sub/k4.json", '{"caption": "four"}'),
]
PY
check "the mixed shard has plain ustar members before its pax header" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(not (d[257:265]==b"ustar\x0000" and d[156:157]==b"0" and b"x" in [d[o+156:o+157] for o in range(0,len(d),512)]))' mixed.tar

# python-ustar.tar and python-ustar.tar.gz would both be NAME python-ustar.
mkdir vars
for f in "$FIX"/tar-variants/*; do
	b=$(basename "$f")
	case $b in *.tar.gz) b=${b%.tar.gz}-gz.tar.gz ;; esac
	ln -s "$f" "vars/$b"
done
both scan "$SHARDS" vars mixed.tar -o @scan --min-faces 0 -q
check "scan exits 0 both ways" [ "$rc_ours" = 0 ] && [ "$rc_lib" = 0 ]
check "scan: same captions files both ways (fixtures, every dialect, mixed)" \
	same_trees scan
check "scan: as many captions files as shards" \
	[ "$(ls ours/scan | wc -l)" = $(($(ls "$SHARDS" | wc -l) + $(ls "$FIX/tar-variants" | wc -l) + 1)) ]

# Owner "root", mode 0644 and a fixed time on every member (tartool).
tt build plain.tar <<'PY'
[
 ("k1.jpg", {"random": 3000, "seed": 1}), ("k1.json", '{"caption": "one"}'),
 ("k2.jpg", {"random": 9000, "seed": 2}), ("k2.json", '{"caption": "two"}'),
]
PY
mkdir -p edits/mixed/sub edits/00000000 edits/plain
printf '{"caption": "new"}' >edits/plain/k1.json
printf 'added' >edits/plain/k2.extra.txt
head -c 4000 /dev/urandom >edits/mixed/k1.jpg
printf 'new four' >edits/mixed/sub/k4.txt
first=$(tt names "$SHARDS/00000000.tar" | sed -n 1p)
head -c 900 /dev/urandom >"edits/00000000/$first"
# An added member takes mode, owner and time from its sample's first one.
printf 'added' >"edits/00000000/${first%%.*}.extra.txt"
both reshard mixed.tar plain.tar "$SHARDS/00000000.tar" -e edits -o @rs -q
check "reshard exits 0 both ways" [ "$rc_ours" = 0 ] && [ "$rc_lib" = 0 ]
check "reshard: byte-equal shards both ways" same_trees rs
check "reshard: the edits are in" \
	tt expect-reshard mixed.tar edits/mixed ours/rs/mixed.tar
check "reshard: the edits are in (datacomp shard)" \
	tt expect-reshard "$SHARDS/00000000.tar" edits/00000000 ours/rs/00000000.tar
check "reshard: the added member has its sample's owner, mode and time" \
	python3 -c 'import sys, tarfile; m = tarfile.open(sys.argv[1]).getmember("k2.extra.txt"); sys.exit(not (m.uname == "root" and m.mode == 0o644 and m.mtime > 0))' ours/rs/plain.tar

both extract mixed.tar "$SHARDS/00000001.tar" -o @x -q
check "extract exits 0 both ways" [ "$rc_ours" = 0 ] && [ "$rc_lib" = 0 ]
check "extract: same files and bytes both ways" same_trees x
check "extract: same types, modes and times both ways" \
	diff <(stat_tree ours/x) <(stat_tree lib/x)

# Damage the second header: both ways name the same offset and cause.
cp "$SHARDS/00000002.tar" bad.tar
off=$(tt offsets bad.tar | awk 'NR == 2 { print $2 }')
tt poke bad.tar $((off + 148)) 99999
both scan bad.tar -o @bad -q
check "damaged header: exit 2 both ways" [ "$rc_ours" = 2 ] && [ "$rc_lib" = 2 ]
check "damaged header: the same message both ways" diff ours.err lib.err
check "damaged header: the message says so" grep -q "bad.tar: offset [0-9]*: .*Damaged tar archive" ours.err

run_hy --help
check "--help names HYBRIDIZE_TAR_READER" grep -q "HYBRIDIZE_TAR_READER=libarchive" out.txt
finish
