#!/usr/bin/env python3
"""Regenerates the committed protobuf code of the worker SDK from proto/ with grpcio-tools.

    python python/scripts/gen_proto.py            write src/smart_routing_worker/_pb/
    python python/scripts/gen_proto.py --check    exit 1 when the committed code is stale

Needs `grpcio-tools` (pinned in tests/python/requirements.txt); the SDK itself does not.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
PROTO_ROOT = PYTHON_DIR.parent / "proto"
PROTO_FILE = "smart_routing/v1/worker.proto"
OUT_DIR = PYTHON_DIR / "src" / "smart_routing_worker" / "_pb"
GENERATED = ("worker_pb2.py", "worker_pb2.pyi")


def generate(into: Path) -> None:
    """Runs protoc (from grpcio-tools) and moves the output flat into `into`."""
    from grpc_tools import protoc  # imported here: only the generator needs it

    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{PROTO_ROOT}", f"--python_out={tmp}", f"--pyi_out={tmp}", PROTO_FILE]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {PROTO_ROOT / PROTO_FILE}")
        into.mkdir(parents=True, exist_ok=True)
        for name in GENERATED:
            (into / name).write_bytes((Path(tmp) / "smart_routing" / "v1" / name).read_bytes())


def stale_files() -> list[str]:
    """Names of generated files whose committed copy differs from a fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        return [
            name
            for name in GENERATED
            if not (OUT_DIR / name).exists() or not filecmp.cmp(Path(tmp) / name, OUT_DIR / name, shallow=False)
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed code is stale")
    if parser.parse_args().check:
        stale = stale_files()
        if stale:
            print(f"stale generated protobuf code: {', '.join(stale)}; run python/scripts/gen_proto.py", file=sys.stderr)
            return 1
        print("generated protobuf code is up to date")
        return 0
    generate(OUT_DIR)
    print(f"wrote {', '.join(GENERATED)} into {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
