"""KServe's own Python client (`kserve.InferenceRESTClient`, protocol v2) against the real
binary: liveness, readiness, model readiness, inference on the tiny model with JSON and
with binary tensors, and the error a client sees for an unknown model and for a server
with no worker yet.

kserve needs grpcio >= 1.73 and tritonclient 2.71's grpc extra needs grpcio < 1.68, so
kserve lives in its own venv, `.cache/venv-kserve`, made here on first use (about 40 s
from PyPI) and kept while the pin below stays the same. `kserve_probe.py` runs in it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, Server
from test_oip_triton import EXPECTED, TINY, serving

KSERVE = "kserve==0.21.0"
VENV = ROOT / ".cache" / "venv-kserve"
PROBE = Path(__file__).resolve().parent / "kserve_probe.py"
ROWS = EXPECTED["inputs"][:2]


@pytest.fixture(scope="session")
def kserve_python() -> Path:
    """The kserve venv's python, made (or remade for a new pin) when needed."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".pinned"
    if python.exists() and stamp.exists() and stamp.read_text() == KSERVE:
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", KSERVE], capture_output=True, text=True, timeout=900
    )
    if installed.returncode != 0:
        pytest.fail(f"cannot install {KSERVE} into {VENV}:\n{installed.stdout[-2000:]}{installed.stderr[-4000:]}")
    stamp.write_text(KSERVE)
    return python


def probe(python: Path, srv: Server) -> dict:
    done = subprocess.run(
        [str(python), str(PROBE), srv.url, "tiny", "x", json.dumps(ROWS)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[Server]:
    with serving(("tiny", TINY)) as srv:
        yield srv


def test_kserve_client_health_readiness_and_inference(kserve_python: Path, tiny_server: Server) -> None:
    got = probe(kserve_python, tiny_server)
    assert (got["live"], got["ready"], got["model_ready"], got["unknown_model_ready"]) == (True, True, True, False)
    want = np.array(EXPECTED["outputs"][:2], dtype=np.float32)
    for binary in ("false", "true"):
        infer = got[f"infer_binary_{binary}"]
        assert {k: infer[k] for k in ("id", "model_name", "name", "datatype", "shape")} == {
            "id": f"k-{binary.capitalize()}", "model_name": "tiny", "name": "y", "datatype": "FP32", "shape": [2, 3]
        }, infer
        np.testing.assert_allclose(np.array(infer["data"], dtype=np.float32), want, atol=1e-5, rtol=0)
    # The protocol's error body reaches kserve's message.
    unknown = got["unknown_model_infer"]
    assert unknown["status"] == 404 and "unknown model 'no-such-model'" in unknown["error"], unknown


def test_kserve_client_sees_a_server_without_workers_as_live_not_ready(kserve_python: Path, server: Server) -> None:
    """kserve's client raises for any non-2xx ready answer (its own server answers 503,
    Triton and this one 400), so not ready is an error carrying the status."""
    got = probe(kserve_python, server)
    assert got["live"] is True
    assert got["ready"]["status"] == 400, got["ready"]
