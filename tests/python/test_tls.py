"""TLS against the real binary (`serve --tls-cert --tls-key`, certificates made by trustme):
the Python SDK worker over wss:// with a CA file, an ssl context, or `--ca-file` on its
command line runs a task; tritonclient over gRPC (`ssl=True`) and over HTTPS runs the
tiny model; a client that does not trust the CA is refused the handshake."""

from __future__ import annotations

import json
import shutil
import signal
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import trustme
from conftest import ROOT, Server, start_server
from sdk_helpers import in_background
from tritonclient.utils import InferenceServerException

from smart_routing_worker import Worker, WorkerError

FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "models" / "tiny"
ORT_LIB = ROOT / ".cache" / "onnxruntime" / "libonnxruntime.so.1.31.1"
EXPECTED = json.loads((FIXTURES / "tiny_expected.json").read_text())


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path

    def serve_args(self) -> list[str]:
        return ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A test CA and a server certificate it signed for localhost and 127.0.0.1."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    certs = Certs(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    ca.cert_pem.write_to_path(str(certs.ca))
    certs.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(certs.key))
    return certs


@pytest.fixture
def tls_server(certs: Certs) -> Iterator[Server]:
    srv = start_server(*certs.serve_args())
    srv.verify = str(certs.ca)
    try:
        yield srv
    finally:
        srv.stop()


def echo_worker(url: str, worker_id: str, **tls: object) -> Worker:
    worker = Worker(url, worker_id=worker_id, **tls)  # type: ignore[arg-type]

    @worker.task("echo")
    def echo(model: object, params: object, ctx: object) -> object:
        return params

    return worker


def run_echo(srv: Server, task_id: str) -> dict:
    body = {"task_id": task_id, "task_type": "echo", "label": "x", "parameters_json": "[1, 2]"}
    reply = srv.post("/run-task", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_https_needs_the_ca(tls_server: Server) -> None:
    assert tls_server.url.startswith("https://")
    assert tls_server.get("/health").json() == {"message": "OK"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url + "/health", timeout=10)


@pytest.mark.parametrize("how", ["ca_file", "ssl"])
def test_the_sdk_worker_runs_a_task_over_wss(tls_server: Server, certs: Certs, how: str) -> None:
    assert tls_server.ws_url.startswith("wss://")
    tls = {"ca_file": str(certs.ca)} if how == "ca_file" else {"ssl": ssl.create_default_context(cafile=str(certs.ca))}
    background = in_background(echo_worker(tls_server.ws_url, f"py-tls-{how}", **tls))
    try:
        assert tls_server.wait_workers(1) == [f"py-tls-{how}"]
        view = run_echo(tls_server, f"t-{how}")
        assert view["status"] == "completed" and view["result"] == [1, 2]
        assert view["worker"] == f"py-tls-{how}"
    finally:
        background.stop()
    assert background.error == []


def test_the_sdk_cli_takes_a_ca_file(tls_server: Server, certs: Certs) -> None:
    proc = tls_server.spawn_sdk_worker("gated:worker", "--worker-id", "py-cli-tls", "--ca-file", str(certs.ca))
    assert tls_server.wait_workers(1) == ["py-cli-tls"]
    assert run_echo(tls_server, "t-cli")["result"] == [1, 2]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_tls_settings_without_wss_or_with_a_bad_ca_file_are_errors(certs: Certs) -> None:
    with pytest.raises(WorkerError, match="need a wss:// URL"):
        echo_worker("ws://127.0.0.1:1/worker-listen", "py-plain", ca_file=str(certs.ca)).run()
    with pytest.raises(WorkerError, match="/nonexistent/ca.pem"):
        echo_worker("wss://127.0.0.1:1/worker-listen", "py-bad-ca", ca_file="/nonexistent/ca.pem").run()


@pytest.fixture(scope="module")
def oip_tls(certs: Certs) -> Iterator[Server]:
    """A TLS server with gRPC on, one local worker and the tiny model."""
    repo = Path(tempfile.mkdtemp(prefix="sr-tls-repo-"))
    (repo / "tiny").symlink_to(TINY)
    srv = start_server(
        *certs.serve_args(),
        *["--models", str(repo), "--ort-lib", str(ORT_LIB), "--grpc-bind", "127.0.0.1:0", "--local-workers", "1"],
    )
    srv.verify = str(certs.ca)
    assert srv.proc.stdout is not None
    line = srv.proc.stdout.readline().strip()
    prefix = "grpc listening on "
    try:
        assert line.startswith(prefix), line
        srv.grpc_url = line[len(prefix) :]  # type: ignore[attr-defined]
        srv.wait_workers(1)
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(repo, ignore_errors=True)


def infer_tiny(module, client) -> None:  # noqa: ANN001 (either tritonclient module)
    rows = np.array(EXPECTED["inputs"], dtype=np.float32)
    tensor = module.InferInput("x", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    got = client.infer("tiny", [tensor]).as_numpy("y")
    np.testing.assert_allclose(got, np.array(EXPECTED["outputs"], dtype=np.float32), atol=1e-5, rtol=0)


def test_triton_grpc_over_tls(oip_tls: Server, certs: Certs) -> None:
    url = oip_tls.grpc_url  # type: ignore[attr-defined]
    client = grpcclient.InferenceServerClient(url=url, ssl=True, root_certificates=str(certs.ca))
    assert client.is_server_live()
    infer_tiny(grpcclient, client)
    plain = grpcclient.InferenceServerClient(url=url)
    with pytest.raises(InferenceServerException):
        plain.is_server_live()


def test_triton_http_over_tls(oip_tls: Server, certs: Certs) -> None:
    url = oip_tls.url.removeprefix("https://")
    client = httpclient.InferenceServerClient(
        url=url, ssl=True, ssl_options={"ca_certs": str(certs.ca)}, network_timeout=60
    )
    assert client.is_server_live()
    infer_tiny(httpclient, client)
