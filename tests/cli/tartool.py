#!/usr/bin/env python3
"""Tar helpers for the CLI tests: an independent reader/writer (Python's
tarfile, stdlib only) to build inputs and check the tool's outputs.

  tartool.py build OUT.tar [FORMAT] < SPEC
      SPEC is a Python literal (ast.literal_eval): a list of members, each
      (name, content) with content a str (UTF-8), bytes, or a dict:
      {"dir": True}, {"symlink": target}, {"hardlink": target},
      {"random": nbytes, "seed": n}, {"file": path} (its bytes). FORMAT: ustar (default), gnu, pax.
      mtime/uid/gid are fixed so builds are deterministic.
  tartool.py gen OUT.tar NSAMPLES BODYSIZE SEED
      A WebDataset shard of NSAMPLES samples (KEY.jpg random bytes,
      KEY.txt, KEY.json).
  tartool.py tiny OUT.tar NSAMPLES FACE_EVERY IMAGE
      A shard of NSAMPLES small samples written fast (memory tests): KEY.jpg
      (the bytes of IMAGE) and KEY.json (caption; one face box every
      FACE_EVERY samples, none when 0). Plain ustar.
  tartool.py list TAR          name, type, size, sha256 of each member
  tartool.py names TAR         member names, one a line
  tartool.py offsets TAR       index, header offset, data offset, size, name
  tartool.py eq A B            exit 0 when A and B hold the same members
                               (names, order, types, link targets, bytes)
  tartool.py expect-reshard IN EDITS/NAME OUT
                               exit 0 when OUT is IN with the edits applied:
                               EDITS/NAME/KEY.EXT replaces member KEY.EXT or
                               is added at the end of sample KEY; all else
                               equal (names, order, types, bytes)
  tartool.py same-headers IN OUT
                               exit 0 when every regular member of OUT that
                               IN has too keeps its mode, owner and mtime,
                               and, where IN's header is POSIX ustar, its
                               512-byte header but for size and checksum
  tartool.py poke FILE OFFSET TEXT   overwrite bytes at OFFSET with TEXT
  tartool.py captions TAR MINFACES   the {"KEY.json": caption} that scan
                               must produce, computed independently
"""
import ast
import hashlib
import io
import json
import random
import re
import sys
import tarfile

MTIME = 1700000000


def _info(name, size=0, typ=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = typ
    ti.mtime = MTIME
    ti.mode = 0o755 if typ == tarfile.DIRTYPE else 0o644
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def build(out, spec, fmt="ustar"):
    formats = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT,
               "pax": tarfile.PAX_FORMAT}
    with tarfile.open(out, "w", format=formats[fmt]) as t:
        for name, content in spec:
            if isinstance(content, dict):
                if content.get("dir"):
                    t.addfile(_info(name, 0, tarfile.DIRTYPE))
                    continue
                if "symlink" in content or "hardlink" in content:
                    sym = "symlink" in content
                    ti = _info(name, 0, tarfile.SYMTYPE if sym
                               else tarfile.LNKTYPE)
                    ti.linkname = content["symlink" if sym else "hardlink"]
                    t.addfile(ti)
                    continue
                if "file" in content:
                    with open(content["file"], "rb") as f:
                        data = f.read()
                else:
                    rnd = random.Random(content.get("seed", 0))
                    data = rnd.randbytes(content["random"])
            elif isinstance(content, str):
                data = content.encode("utf-8")
            else:
                data = content
            t.addfile(_info(name, len(data)), io.BytesIO(data))


def gen(out, n, size, seed):
    rnd = random.Random(seed)
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
        for i in range(n):
            key = "%09d" % i
            faces = [[0.1, 0.2, 0.3, 0.4]] * (i % 3)
            cap = "caption %d of seed %d" % (i, seed)
            meta = json.dumps({"key": key, "caption": cap,
                               "face_bboxes": faces}).encode()
            for ext, data in (("jpg", rnd.randbytes(size)),
                              ("txt", cap.encode()), ("json", meta)):
                t.addfile(_info(key + "." + ext, len(data)),
                          io.BytesIO(data))


def _ustar_header(name, size):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % MTIME
    h[148:156] = b"        "
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def tiny(out, n, face_every, image):
    with open(image, "rb") as f:
        img = f.read()
    pad = b"\0" * (-len(img) % 512)
    with open(out, "wb", buffering=1 << 20) as f:
        for i in range(n):
            key = b"%09d" % i
            face = face_every and i % face_every == 0
            meta = b'{"uid": "%s", "caption": "A person, sample %d.", ' \
                b'"face_bboxes": [%s]}' % (key, i,
                                            b"[0.25, 0.25, 0.75, 0.75]"
                                            if face else b"")
            f.write(_ustar_header(key + b".jpg", len(img)))
            f.write(img + pad)
            f.write(_ustar_header(key + b".json", len(meta)))
            f.write(meta + b"\0" * (-len(meta) % 512))
        f.write(b"\0" * 1024)


def members(path):
    """(name, type, link target, bytes) of each member; a regular file is
    type REGTYPE whatever its header said (old '\\0', GNU sparse 'S')."""
    out = []
    with tarfile.open(path) as t:
        for m in t:
            data = t.extractfile(m).read() if m.isfile() else None
            typ = tarfile.REGTYPE if m.isfile() else m.type
            out.append((m.name, typ, m.linkname, data))
    return out


def eq(a, b):
    ma, mb = members(a), members(b)
    for i, (x, y) in enumerate(zip(ma, mb)):
        if x != y:
            print("member %d differs: %r vs %r" % (i, x[:3], y[:3]),
                  file=sys.stderr)
            return 1
    if len(ma) != len(mb):
        print("%d vs %d members" % (len(ma), len(mb)), file=sys.stderr)
        return 1
    return 0


def _key(name):
    d, _, base = name.rpartition("/")
    stem, _, ext = base.partition(".")
    return (d + "/" if d else "") + stem, ext


def same_headers(src, out):
    """See the usage: headers of members that were kept or replaced."""
    def index(path):
        with open(path, "rb") as f:
            raw = f.read()
        with tarfile.open(path) as t:
            return {m.name: (m, raw[m.offset:m.offset + 512])
                    for m in t if m.isreg()}
    a, b = index(src), index(out)
    bad = 0
    for name, (mb, hb) in b.items():
        if name not in a:
            continue
        ma, ha = a[name]
        for f in ("mode", "uid", "gid", "uname", "gname", "mtime"):
            if getattr(ma, f) != getattr(mb, f):
                print(f"{name}: {f} {getattr(ma, f)!r} -> {getattr(mb, f)!r}",
                      file=sys.stderr)
                bad = 1
        if ha[257:265] == b"ustar\x0000" and ha[156:157] in (b"0", b"\0"):
            keep = lambda h: h[:124] + h[136:148] + h[156:]
            if keep(ha) != keep(hb):
                print(f"{name}: header changed beyond size and checksum",
                      file=sys.stderr)
                bad = 1
    return bad


def expect_reshard(src, edits_dir, out):
    """OUT must be SRC with the files under EDITS_DIR (KEY.EXT) replacing
    member KEY.EXT, or added at the end of sample KEY when it has none."""
    import os
    edits = {}
    for root, _, files in os.walk(edits_dir):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, edits_dir)
            with open(p, "rb") as fh:
                edits[rel] = fh.read()
    want = []  # (name, type, link, data); groups of added members sorted
    pending = []  # members to add at the end of the current sample
    cur = None
    used = set()

    def close():
        want.extend(sorted(pending))
        pending.clear()

    for name, typ, link, data in members(src):
        if typ != tarfile.REGTYPE:
            want.append((name, typ, link, data))
            continue
        key, _ = _key(name)
        if key != cur:
            close()
            cur = key
            have = {n for n in edits if _key(n)[0] == key}
            missing = have - {m[0] for m in _members_of(src, key)}
            _ADDED.update(missing)
            pending.extend((n, tarfile.REGTYPE, "", edits[n])
                           for n in missing)
            used |= have
        if name in edits:
            data = edits[name]
        want.append((name, typ, link, data))
    close()
    got = members(out)
    # added members of one sample may come in any order: compare per group
    i = 0
    ok = len(got) == len(want)
    while ok and i < len(want):
        j = i
        while j < len(want) and want[j][0] not in _ADDED:
            j += 1
        ok = got[i:j] == want[i:j]
        i = j
        while ok and j < len(want) and want[j][0] in _ADDED:
            j += 1
        ok = ok and sorted(got[i:j]) == sorted(want[i:j])
        i = j
    if not ok:
        for k, (a, b) in enumerate(zip(got, want)):
            if a != b:
                print("member %d: got %r want %r" % (k, a[:3], b[:3]),
                      file=sys.stderr)
                break
        else:
            print("got %d members, want %d" % (len(got), len(want)),
                  file=sys.stderr)
        return 1
    if set(edits) - used:
        print("edits for absent keys: %s" % sorted(set(edits) - used),
              file=sys.stderr)
        return 1
    return 0


_ADDED = set()
_CACHE = {}


def _members_of(src, key):
    if src not in _CACHE:
        groups = {}
        for m in members(src):
            if m[1] == tarfile.REGTYPE:
                groups.setdefault(_key(m[0])[0], []).append(m)
        _CACHE[src] = groups
    return _CACHE[src].get(key, [])


LONE = re.compile("[\ud800-\udfff]")


def captions(path, min_faces):
    """What the old scripts (step 1+2) compute, lone surrogates -> U+FFFD."""
    samples = {}  # key -> {ext: bytes}
    order = []
    with tarfile.open(path) as t:
        for m in t:
            if not m.isfile():
                continue
            d, _, base = m.name.rpartition("/")
            stem, _, ext = base.partition(".")
            key = (d + "/" if d else "") + stem
            if key not in samples:
                samples[key] = {}
                order.append(key)
            samples[key][ext] = t.extractfile(m).read()
    out = {}
    for key in order:
        s = samples[key]
        if "json" not in s:
            continue
        try:
            meta = json.loads(s["json"].decode("utf-8"))
        except ValueError:
            continue
        if not isinstance(meta, dict):
            continue
        boxes = meta.get("face_bboxes")
        n = len(boxes) if isinstance(boxes, list) else 0
        if n < min_faces:
            continue
        cap = meta.get("caption")
        if not isinstance(cap, str):
            cap = s.get("txt", b"").decode("utf-8", "replace")
        out[key + ".json"] = LONE.sub("\ufffd", cap)
    return out


def main(argv):
    cmd = argv[1]
    if cmd == "build":
        spec = ast.literal_eval(sys.stdin.read())
        build(argv[2], spec, argv[3] if len(argv) > 3 else "ustar")
    elif cmd == "gen":
        gen(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif cmd == "tiny":
        tiny(argv[2], int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "list":
        for name, typ, link, data in members(argv[2]):
            print(name, typ.decode(), link,
                  len(data) if data is not None else "-",
                  hashlib.sha256(data).hexdigest() if data is not None
                  else "-", sep="\t")
    elif cmd == "names":
        for m in members(argv[2]):
            print(m[0])
    elif cmd == "offsets":
        with tarfile.open(argv[2]) as t:
            for i, m in enumerate(t):
                print(i, m.offset, m.offset_data, m.size, m.name)
    elif cmd == "eq":
        return eq(argv[2], argv[3])
    elif cmd == "expect-reshard":
        return expect_reshard(argv[2], argv[3], argv[4])
    elif cmd == "same-headers":
        return same_headers(argv[2], argv[3])
    elif cmd == "poke":
        with open(argv[2], "r+b") as f:
            f.seek(int(argv[3]))
            f.write(argv[4].encode())
    elif cmd == "captions":
        json.dump(captions(argv[2], int(argv[3])), sys.stdout,
                  ensure_ascii=False, indent=1)
    else:
        print("unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
