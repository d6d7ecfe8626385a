#!/usr/bin/env python3
"""Regenerates the committed protobuf code of the worker SDK from proto/ with grpcio-tools.

    python python/scripts/gen_proto.py            write src/smart_routing_worker/_pb/
    python python/scripts/gen_proto.py --check    exit 1 when the committed code is stale

The generator runs in its own venv, .cache/venv-protoc (created on first use, again when
TOOLS change): grpcio-tools pins grpcio, which would conflict with packages that share an
environment with the SDK (tritonclient 2.71 needs grpcio < 1.68). The SDK itself needs only
the protobuf runtime.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
PROTO_ROOT = PYTHON_DIR.parent / "proto"
PROTO_FILE = "smart_routing/v1/worker.proto"
OUT_DIR = PYTHON_DIR / "src" / "smart_routing_worker" / "_pb"
GENERATED = ("worker_pb2.py", "worker_pb2.pyi")
# grpcio-tools 1.72.2 bundles protoc 30.x: its gencode (6.30.0) runs on protobuf 6.30+ and
# on 7.x (one major newer is allowed), hence the SDK's `protobuf>=6.30,<8`. A newer protoc
# would raise that floor above tritonclient 2.71's protobuf range (>=6.30,<7).
TOOLS = ("grpcio-tools==1.72.2", "grpcio==1.72.2", "protobuf==6.33.6")
TOOLS_VENV = PYTHON_DIR.parent / ".cache" / "venv-protoc"


def tools_python() -> Path:
    """The Python of TOOLS_VENV, (re)created when missing or when TOOLS changed (stamp file)."""
    python = TOOLS_VENV / "bin" / "python"
    stamp = TOOLS_VENV / ".requirements"
    want = "\n".join(TOOLS) + "\n"
    if not python.exists() or not stamp.exists() or stamp.read_text() != want:
        print(f"gen_proto.py: creating {TOOLS_VENV}", file=sys.stderr)
        shutil.rmtree(TOOLS_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *TOOLS], check=True)
        stamp.write_text(want)
    return python


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
    if Path(sys.prefix).resolve() != TOOLS_VENV.resolve():  # rerun inside the generator's venv
        return subprocess.run([str(tools_python()), str(Path(__file__).resolve()), *sys.argv[1:]]).returncode
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
