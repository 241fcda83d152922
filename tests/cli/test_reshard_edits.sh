#!/usr/bin/env bash
# reshard with edits: EDITS/NAME/KEY.EXT replaces member KEY.EXT, or is
# added at the end of sample KEY when it lacks one (keys in sub-folders,
# multi-dot extensions too); exactly the edited members change, all others
# are byte-equal, and GNU tar, bsdtar and Python read the output.
TEST_NAME=reshard_edits
. "$(dirname "$0")/lib.sh"
tt() { python3 "$ROOT/tests/cli/tartool.py" "$@"; }

tt_spec() {
	cat <<'PY'
[
 ("k1.jpg", {"random": 3000, "seed": 1}), ("k1.txt", "cap 1"), ("k1.json", '{"caption": "cap 1"}'),
 ("k2.jpg", {"random": 2000, "seed": 2}), ("k2.txt", "cap 2"), ("k2.json", '{"caption": "cap 2"}'),
 ("sub/", {"dir": True}),
 ("sub/k3.jpg", {"random": 1000, "seed": 3}), ("sub/k3.json", '{"caption": "cap 3"}'),
 ("sub/k4.jpg", {"random": 700, "seed": 4}), ("sub/k4.seg.png", "seg"), ("sub/k4.json", "{}"),
 ("k5.jpg", "five"),
 ("k6.jpg", "six"), ("k6.json", "{}"),
]
PY
}
tt build s.tar < <(tt_spec)
mkdir -p edits/s/sub
head -c 5000 /dev/urandom >edits/s/k1.jpg            # replace, larger
echo '{"caption": "new 1", "synthetic": {}}' >edits/s/k1.json
head -c 10 /dev/urandom >edits/s/sub/k3.jpg          # replace, smaller
printf 'prompt three' >edits/s/sub/k3.txt            # added (k3 has no .txt)
printf 'new seg' >edits/s/sub/k4.seg.png             # multi-dot replace
printf 'prompt five' >edits/s/k5.txt                 # added to a 1-member sample
: >edits/s/k6.json                                   # replaced by an empty file
mkdir -p edits/unrelated && echo x >edits/unrelated/zz.txt

run_hy reshard s.tar -e edits -o out -q
expect_rc 0 "reshard with edits"
check "output = input with exactly the edits applied (Python tarfile)" \
	tt expect-reshard s.tar edits/s out/s.tar
check "summary counts 7 edited members" grep -Eq "edited members +7\$" out.txt
check "replaced members keep their ustar header but for size and checksum" \
	tt same-headers s.tar out/s.tar
for fmt in gnu pax; do
	tt build "s_$fmt.tar" "$fmt" < <(tt_spec)
	mkdir -p "edits_$fmt" && cp -r edits/s "edits_$fmt/s_$fmt"
	run_hy reshard "s_$fmt.tar" -e "edits_$fmt" -o "out_$fmt" -q
	check "$fmt input: exactly the edits applied" \
		tt expect-reshard "s_$fmt.tar" "edits_$fmt/s_$fmt" "out_$fmt/s_$fmt.tar"
	check "$fmt input: replaced members keep mode, owner and mtime" \
		tt same-headers "s_$fmt.tar" "out_$fmt/s_$fmt.tar"
done
cat >order.txt <<'L'
k1.jpg
k1.txt
k1.json
k2.jpg
k2.txt
k2.json
sub/
sub/k3.jpg
sub/k3.json
sub/k3.txt
sub/k4.jpg
sub/k4.seg.png
sub/k4.json
k5.jpg
k5.txt
k6.jpg
k6.json
L
check "GNU tar lists the expected names in order (added at end of sample)" \
	bash -c 'tar -tf out/s.tar | cmp -s - order.txt'
check "bsdtar lists the same" bash -c 'bsdtar -tf out/s.tar | cmp -s - order.txt'
mkdir gx bx
tar -xf out/s.tar -C gx && bsdtar -xf out/s.tar -C bx
for f in k1.jpg k1.json sub/k3.jpg sub/k3.txt sub/k4.seg.png k5.txt k6.json; do
	check "GNU tar extracts edited $f with the edit's bytes" cmp -s "gx/$f" "edits/s/$f"
	check "bsdtar extracts edited $f with the edit's bytes" cmp -s "bx/$f" "edits/s/$f"
done
mkdir ix && tar -xf s.tar -C ix
for f in k1.txt k2.jpg k2.txt k2.json sub/k3.json sub/k4.jpg sub/k4.json k5.jpg k6.jpg; do
	check "unedited $f byte-equal" cmp -s "gx/$f" "ix/$f"
done
check "no edit file for unrelated shards is applied" test ! -e gx/zz.txt

# A key in a folder with a dot (v1.2/000125); hidden files in the edits
# folder (a killed generator's .KEY.jpg.part) are not edits.
tt build d.tar <<'PY'
[("v1.2/000125.jpg", "img"), ("v1.2/000125.json", "{}"), ("k1.jpg", "a"), ("k1.json", "{}")]
PY
mkdir -p ed/d/v1.2
printf 'new' >ed/d/v1.2/000125.jpg
printf 'partial' >ed/d/.k1.jpg.part
printf 'partial' >ed/d/v1.2/.000125.txt.part
run_hy reshard d.tar -e ed -o outd -q
expect_rc 0 "reshard with a dotted folder key and hidden files in the edits"
rm ed/d/.k1.jpg.part ed/d/v1.2/.000125.txt.part
check "only v1.2/000125.jpg replaced; hidden .part files ignored" \
	tt expect-reshard d.tar ed/d outd/d.tar
check "summary counts 1 edited member" grep -Eq "edited members +1\$" out.txt

# Edits reached through symbolic links, to a file and to a key folder
# (readdir says DT_LNK: the walk stats them).
tt build l.tar <<'PY'
[("k1.jpg", "a"), ("k1.json", "{}"), ("sub/k2.jpg", "b"), ("sub/k2.json", "{}")]
PY
mkdir -p real/sub el/l lx
printf 'linked image' >real/k1.jpg
printf '{"linked": 1}' >real/sub/k2.json
ln -s "$T/real/k1.jpg" el/l/k1.jpg
ln -s "$T/real/sub" el/l/sub
run_hy reshard l.tar -e el -o outl -q
expect_rc 0 "reshard with edits behind symbolic links"
check "summary counts 2 edited members" grep -Eq "edited members +2\$" out.txt
tar -xf outl/l.tar -C lx
check "linked file's bytes replace k1.jpg" cmp -s lx/k1.jpg real/k1.jpg
check "file in a linked folder replaces sub/k2.json" cmp -s lx/sub/k2.json real/sub/k2.json
check "the rest unchanged" bash -c '[ "$(cat lx/sub/k2.jpg)" = b ] && [ "$(cat lx/k1.json)" = "{}" ]'

# Edits on a real DataComp shard, with other shards in the same run.
n=00000001
mkdir -p e2/$n
python3 - "$SHARDS/$n.tar" <<'P'
import sys, tarfile
t = tarfile.open(sys.argv[1])
names = [m.name for m in t if m.name.endswith(".jpg")][5:8]
for nm in names:
    open("e2/00000001/" + nm, "wb").write(b"synthetic " + nm.encode())
    open("e2/00000001/" + nm[:-3] + "txt", "w").write("prompt for " + nm)
P
run_hy reshard "$SHARDS" -e e2 -o out2 -q
expect_rc 0 "reshard of datacomp-mini with edits for one shard"
check "$n: exactly the 6 edited members changed" tt expect-reshard "$SHARDS/$n.tar" "e2/$n" "out2/$n.tar"
check "summary counts 6 edited members" grep -Eq "edited members +6\$" out.txt
for m in 00000000 00000002; do
	check "$m (no edits) byte-equal members" tt eq "$SHARDS/$m.tar" "out2/$m.tar"
done
check "expect-reshard can fail: unedited output is not the edited one" \
	bash -c '! python3 "$0" expect-reshard "$1" e2/00000001 "$1" 2>/dev/null' \
	"$ROOT/tests/cli/tartool.py" "$SHARDS/$n.tar"
finish
