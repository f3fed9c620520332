#!/usr/bin/env python3
"""Restore one snapshot of a MAGI cloud repository without MAGI (FORMAT.md beside this file).

Needs only Python 3's standard library and Debian's `age` and `zstd`. The repository must be a directory:
a directory repository as it is, or a bucket's prefix copied down with any S3 client
(`aws s3 sync s3://BUCKET/magi ./repo`, `rclone copy`, `s3cmd sync`).

    recover.py --repository ./repo --identity cloud-identity SNAPSHOT OUTDIR

Every file of the snapshot is written under OUTDIR by its path, checked against its SHA-256; the local
archive's manifest (owners, modes, capture methods) is written as OUTDIR/manifest.json.
"""

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys


def run(args, data):
    done = subprocess.run(args, input=data, capture_output=True)
    if done.returncode != 0:
        sys.exit(f"recover.py: {' '.join(args[:2])}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def open_sealed(path, identity):
    stored = path.read_bytes()
    return run(["zstd", "-d", "-c"], run(["age", "-d", "-i", identity], stored))


def check_id(path, stored):
    if hashlib.sha256(stored).hexdigest() != path.name:
        sys.exit(f"recover.py: {path}: its bytes do not match its SHA-256 (damaged)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", required=True, type=pathlib.Path)
    parser.add_argument("--identity", required=True, help="the age identity file (cloud-identity)")
    parser.add_argument("snapshot")
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()
    repo = args.repository

    config = json.loads((repo / "config").read_text())
    if config.get("format") != 1:
        sys.exit(f"recover.py: repository format {config.get('format')} is not 1")

    snapshot = json.loads(open_sealed(repo / "snapshots" / args.snapshot, args.identity))
    where = {}
    for index in sorted((repo / "index").iterdir()):
        check_id(index, index.read_bytes())
        for pack in json.loads(open_sealed(index, args.identity))["packs"]:
            for blob_id, _kind, raw_offset, raw_length in pack["blobs"]:
                where[blob_id] = (pack["id"], raw_offset, raw_length)

    packs = {}

    def blob(blob_id):
        pack_id, raw_offset, raw_length = where[blob_id]
        if pack_id not in packs:
            if len(packs) > 16:
                packs.clear()
            path = repo / "data" / pack_id[:2] / pack_id
            check_id(path, path.read_bytes())
            packs[pack_id] = open_sealed(path, args.identity)
        raw = packs[pack_id][raw_offset : raw_offset + raw_length]
        if hashlib.sha256(raw).hexdigest() != blob_id:
            sys.exit(f"recover.py: blob {blob_id} in pack {pack_id} does not match its SHA-256")
        return raw

    args.out.mkdir(parents=True, exist_ok=True)
    for record in snapshot["files"]:
        relative = pathlib.PurePosixPath(record["path"])
        if relative.is_absolute() or ".." in relative.parts:
            sys.exit(f"recover.py: refusing the path {record['path']!r}")
        target = args.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with open(target, "wb") as out:
            for leaf_id in record["leaves"]:
                leaf = blob(leaf_id)
                for at in range(0, len(leaf), 36):
                    chunk = blob(leaf[at : at + 32].hex())
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != record["sha256"]:
            sys.exit(f"recover.py: {record['path']}: the restored content does not match its SHA-256")
        print(f"{record['path']}: {record['size']} bytes")
    (args.out / "manifest.json").write_text(json.dumps(snapshot["meta"], indent=2))
    os.chmod(args.out / "manifest.json", 0o600)


if __name__ == "__main__":
    main()
