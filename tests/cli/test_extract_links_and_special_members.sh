#!/usr/bin/env bash
# extract as a safe extractor, also as root (as CI runs it): a symbolic link
# whose target is absolute, climbs with '..' above the shard's folder, or
# climbs after a name (through another link), a hard link to an absolute
# path, and a FIFO, character or block device member are refused: exit 2,
# the message names the shard, the member and the link target or kind, no
# DIR/NAME and no temporary is left for that shard, nothing is created
# outside DIR, and no FIFO or device node exists anywhere. Links that stay
# inside are extracted as they are. Modes lose their setuid, setgid and
# sticky bits (files and folders); the rest of the mode is kept.
TEST_NAME=extract_links_and_special_members
. "$(dirname "$0")/lib.sh"

mkdir work victim
printf 'original' >victim/passwd

# mk OUT.tar SPEC: SPEC a Python list of (name, kind, arg): kind "reg"
# (arg: mode), "sym"/"hard" (arg: target), "fifo", "chr", "blk", "dir"
# (arg: mode). Pax format, so that a hard link may carry a body.
mk() {
	python3 - "$1" "$2" <<'PY'
import ast, io, sys, tarfile
types = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
         "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
         "blk": tarfile.BLKTYPE, "dir": tarfile.DIRTYPE}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, kind, arg in ast.literal_eval(sys.argv[2]):
        ti = tarfile.TarInfo(name)
        ti.mtime = 1700000000
        data = b""
        if kind == "reg":
            ti.mode, data = arg, b"body of " + name.encode()
        elif kind in ("sym", "hard"):
            ti.type, ti.linkname = types[kind], arg
            if kind == "hard":  # a body written through the link
                ti.pax_headers = {"size": "4"}
                data = b"evil"
        else:
            ti.type = types[kind]
            ti.mode = arg if kind == "dir" else 0o644
            ti.devmajor, ti.devminor = (1, 3) if kind == "chr" else (7, 0)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
}

cd work || exit 1
mk symabs.tar "[('k1.jpg','reg',0o644), ('k1.lnk','sym','$T/victim'), ('k1.lnk/escaped-abs.txt','reg',0o644)]"
mk symup.tar "[('a/k1.jpg','reg',0o644), ('a/k1.lnk','sym','../../escaped-up')]"
mk symchain.tar "[('sub/k1.jpg','reg',0o644), ('sub/s','sym','..'), ('t','sym','sub/s/../..')]"
mk hardabs.tar "[('k1.jpg','reg',0o644), ('k2.jpg','hard','$T/victim/passwd')]"
# a link two folders down may climb two; a hard link to it at the top
# would climb out (link(2) copies the link, its target read from there)
mk hardsym.tar "[('a/b/s','sym','../..'), ('h','hard','a/b/s')]"
mk fifo.tar "[('k1.jpg','reg',0o644), ('k1.fifo','fifo',0)]"
mk chr.tar "[('k1.jpg','reg',0o644), ('k1.null','chr',0)]"
mk blk.tar "[('k1.jpg','reg',0o644), ('k1.loop','blk',0)]"
mk modes.tar "[('d','dir',0o3777), ('d/k1.jpg','reg',0o4755), ('d/k2.jpg','reg',0o2750), ('d/k3.jpg','reg',0o1640)]"
mk symok.tar "[('a/k1.jpg','reg',0o644), ('a/k1.lnk','sym','../a/k1.jpg'), ('b','sym','a/./k1.jpg'), ('c','sym','.'), ('a/k2.jpg','hard','a/k1.jpg')]"
bad="symabs symup symchain hardabs hardsym fifo chr blk"

run_hy extract symabs.tar symup.tar symchain.tar hardabs.tar hardsym.tar fifo.tar \
	chr.tar blk.tar modes.tar symok.tar "$SHARDS/00000000.tar" -o out -q
expect_rc 2 "extract with links out, special members and odd modes"
expect_err "symabs\.tar: offset [0-9]+: refusing member 'k1\.lnk' \(link to '$T/victim'\): symbolic link" \
	"absolute symlink: shard, member and target named"
expect_err "symup\.tar: offset [0-9]+: refusing member 'a/k1\.lnk' \(link to '\.\./\.\./escaped-up'\): symbolic link" \
	"symlink climbing out: shard, member and target named"
expect_err "symchain\.tar: offset [0-9]+: refusing member 't' \(link to 'sub/s/\.\./\.\.'\)" \
	"symlink climbing through another link: refused"
expect_err "hardabs\.tar: offset [0-9]+: refusing member 'k2\.jpg' \(link to '$T/victim/passwd'\): hard link" \
	"absolute hard link: shard, member and target named"
expect_err "hardsym\.tar: offset [0-9]+: refusing member 'h' \(link to 'a/b/s'\): hard link to a symbolic link" \
	"hard link to a symbolic link: refused"
expect_err "fifo\.tar: offset [0-9]+: refusing member 'k1\.fifo': a FIFO" "FIFO refused, named"
expect_err "chr\.tar: offset [0-9]+: refusing member 'k1\.null': a character device" "character device refused, named"
expect_err "blk\.tar: offset [0-9]+: refusing member 'k1\.loop': a block device" "block device refused, named"
check "summary says 8 failed" grep -Eq "failed +8\$" out.txt
for n in $bad; do
	check "no folder left for $n.tar" test ! -e "out/$n"
done
check "no temporaries left" test -z "$(ls -A out | grep '^\.')"
cd "$T" || exit 1

check "nothing created outside DIR (only work/ and victim/ in \$T)" \
	test "$(ls -A "$T" | grep -v -e '^work$' -e '^victim$' -e '\.txt$' | wc -l)" = 0
check "victim folder untouched" test "$(ls -A victim)" = passwd
check "victim file untouched" cmp -s victim/passwd <(printf 'original')
check "nothing named escaped-* anywhere" test -z "$(find "$T" / -maxdepth 1 -name 'escaped-*' 2>/dev/null; find "$T" -name 'escaped-*')"
check "no FIFO, device node or socket under \$T" \
	test -z "$(find "$T" \( -type p -o -type c -o -type b -o -type s \))"
check "no symbolic link in DIR with an absolute target" \
	test -z "$(find work/out -type l -lname '/*')"

m=work/out/modes/d
check "modes: extracted" test -f "$m/k1.jpg" -a -f "$m/k2.jpg" -a -f "$m/k3.jpg"
check "modes: no setuid, setgid or sticky bit in DIR" \
	test -z "$(find work/out -perm /7000)"
check "modes: the rest kept (755 750 640, folder 777)" test \
	"$(stat -c %a "$m/k1.jpg" "$m/k2.jpg" "$m/k3.jpg" "$m" | tr '\n' ' ')" = "755 750 640 777 "

s=work/out/symok
check "links inside: a/k1.lnk kept" test "$(readlink "$s/a/k1.lnk")" = ../a/k1.jpg
check "links inside: b kept" test "$(readlink "$s/b")" = a/./k1.jpg
check "links inside: c kept" test "$(readlink "$s/c")" = .
check "links inside: a/k1.lnk resolves to a/k1.jpg" cmp -s "$s/a/k1.lnk" "$s/a/k1.jpg"
check "links inside: hard link a/k2.jpg is a/k1.jpg" test "$s/a/k2.jpg" -ef "$s/a/k1.jpg"
check "the good shard is extracted" test "$(find work/out/00000000 -type f | wc -l)" = 120
finish
