#!/usr/bin/env python3
"""Baseline for the scan benchmark: step 2 of the old pipeline as it ran.

Reads every KEY.json of shards already untarred into EXTRACTED/NAME/ (step 1,
parallel `tar -x`, timed by run.sh) and writes OUT/NAME.json =
{"KEY.json": caption} for samples with >= MIN_FACES face boxes, the same file
that `hybridize scan` writes.

usage: old_scan.py EXTRACTED_DIR OUT_DIR [MIN_FACES]
"""
import json
import os
import sys


def fix_surrogates(text):
    """A lone surrogate (valid in the JSON, not in UTF-8) becomes U+FFFD, as
    SPEC.md asks, so the output can be written and compared with scan's."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) < 0xE000 else c for c in text)


def scan_folder(folder, min_faces):
    captions = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            meta = json.load(f)
        if len(meta.get("face_bboxes") or []) < min_faces:
            continue
        caption = meta.get("caption")
        if caption is None:
            txt = os.path.join(folder, name[: -len(".json")] + ".txt")
            with open(txt, encoding="utf-8") as f:
                caption = f.read()
        captions[name] = fix_surrogates(caption)
    return captions


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    extracted, out = sys.argv[1], sys.argv[2]
    min_faces = int(sys.argv[3]) if len(sys.argv) == 4 else 1
    os.makedirs(out, exist_ok=True)
    for shard in sorted(os.listdir(extracted)):
        captions = scan_folder(os.path.join(extracted, shard), min_faces)
        with open(os.path.join(out, shard + ".json"), "w", encoding="utf-8") as f:
            json.dump(captions, f, indent=4, ensure_ascii=False)


if __name__ == "__main__":
    main()
