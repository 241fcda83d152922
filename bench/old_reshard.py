#!/usr/bin/env python3
"""Baseline for the reshard benchmark: a Python tarfile copy loop (step 5).

Copies every member of SHARD into OUT_DIR/NAME.tar in order, replacing the
members that have a file of the same name in EDITS_DIR/NAME/ (a missing
folder means no edits). Run one process per shard (run.sh uses xargs -P).

usage: old_reshard.py EDITS_DIR OUT_DIR SHARD...
"""
import os
import sys
import tarfile


def shard_name(path):
    base = os.path.basename(path)
    for ext in (".tar.gz", ".tar"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def reshard(shard, edits_root, out_dir):
    name = shard_name(shard)
    edit_dir = os.path.join(edits_root, name)
    edits = set(os.listdir(edit_dir)) if os.path.isdir(edit_dir) else set()
    out = os.path.join(out_dir, name + ".tar")
    tmp = out + ".tmp"
    with tarfile.open(shard) as src, tarfile.open(tmp, "w", format=src.format) as dst:
        for member in src:
            if not member.isfile():
                dst.addfile(member)
                continue
            base = os.path.basename(member.name)
            if base in edits:
                path = os.path.join(edit_dir, base)
                member.size = os.path.getsize(path)
                with open(path, "rb") as f:
                    dst.addfile(member, f)
            else:
                dst.addfile(member, src.extractfile(member))
    os.replace(tmp, out)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    edits_root, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for shard in sys.argv[3:]:
        reshard(shard, edits_root, out_dir)


if __name__ == "__main__":
    main()
