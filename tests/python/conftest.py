"""Shared pytest fixtures: the real `smart-routing` binary on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SR_TEST_BIN", ROOT / "target" / "debug" / "smart-routing"))
#: The Python SDK workers the tests run (`module:worker` targets).
WORKERS = Path(__file__).resolve().parent / "workers"


@dataclass
class Server:
    """A running `smart-routing serve`; `stop()` ends it (also done by the fixture)."""

    proc: subprocess.Popen
    url: str
    port: int
    workdir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    #: What `requests` verifies an https:// server with: a CA file, or True (the system's).
    verify: str | bool = True

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.url.startswith("https://") else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/worker-listen"

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("verify", self.verify)
        return requests.get(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("verify", self.verify)
        return requests.post(self.url + path, timeout=kw.pop("timeout", 60), **kw)

    def wait_workers(self, n: int, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.get("/workers").json()["workers"]
            if len(workers) >= n:
                return workers
            time.sleep(0.05)
        raise AssertionError(f"fewer than {n} workers joined within {timeout} s")

    def spawn_worker(self, *args: str) -> subprocess.Popen:
        """Starts `smart-routing worker` against this server; killed with the server."""
        proc = subprocess.Popen(
            [str(BIN), "worker", "--dispatcher", self.ws_url, *args],
            env={**os.environ, "RUST_LOG": "warn"},
        )
        self.procs.append(proc)
        return proc

    def spawn_sdk_worker(self, target: str, *args: str, output=None) -> subprocess.Popen:
        """Starts the Python SDK's `python -m smart_routing_worker TARGET` against this
        server, in `WORKERS`; its output to `output` (a file), else a text pipe; killed
        with the server."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "smart_routing_worker", target, "--dispatcher", self.ws_url, *args],
            cwd=WORKERS,
            stdout=output or subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=output is None,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [*self.procs, self.proc]:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def start_server(
    *args: str, env: dict[str, str] | None = None, workdir: Path | None = None, bind: str = "127.0.0.1:0"
) -> Server:
    """Starts `smart-routing serve --bind 127.0.0.1:0` (or `bind`) and reads the port it prints."""
    if not BIN.exists():
        raise RuntimeError(f"{BIN} is missing: build it with `cargo build` first")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="sr-py-"))
    proc = subprocess.Popen(
        [str(BIN), "serve", "--bind", bind, "--log-dir", str(workdir / "logs"), *args],
        stdout=subprocess.PIPE,
        env={**os.environ, "RUST_LOG": "warn", **(env or {})},
        cwd=workdir,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    prefix = "listening on "
    url = line[len(prefix):]
    if not line.startswith(prefix) or not url.startswith(("http://", "https://")):
        proc.kill()
        raise RuntimeError(f"unexpected first line from serve: {line!r}")
    port = int(url.rsplit(":", 1)[1])
    return Server(proc=proc, url=url, port=port, workdir=workdir)


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh server with no workers."""
    srv = start_server()
    try:
        yield srv
    finally:
        srv.stop()
