"""Task spans exported over OTLP/HTTP when `otlp_endpoint` is set: a local receiver
captures the POSTs to /v1/traces and finds the task's span with its attributes; with no
endpoint nothing is sent."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import start_server


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def run_one(srv, task_id: str) -> None:
    srv.spawn_worker("--worker-id", "otel-w", "--simulate", "--time-scale", "0.01")
    srv.wait_workers(1)
    body = {"task_id": task_id, "task_type": "sample_task_1", "label": "otel-label", "parameters_json": "{}"}
    assert srv.post("/run-task", json=body).status_code == 200


def serve_receiver():
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    return receiver


def test_task_spans_reach_an_otlp_http_receiver() -> None:
    receiver = serve_receiver()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    srv = start_server(env={"SMART_ROUTING_OTLP_ENDPOINT": endpoint})
    try:
        run_one(srv, "traced-task-1")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(b"traced-task-1" in body for _, _, body in receiver.posts):
                break
            time.sleep(0.2)
    finally:
        srv.stop()
        receiver.shutdown()
    posts = [p for p in receiver.posts if b"traced-task-1" in p[2]]
    assert posts, f"no exported span names the task ({len(receiver.posts)} posts)"
    path, content_type, body = posts[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    # Protobuf keeps strings as they are: the span's name and its attributes.
    for needle in [b"task", b"task_id", b"label", b"otel-label", b"worker_id", b"otel-w", b"status", b"completed", b"smart-routing"]:
        assert needle in body, needle


def test_no_export_without_an_endpoint() -> None:
    receiver = serve_receiver()
    srv = start_server(env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}"})
    try:
        run_one(srv, "untraced-task")
        time.sleep(2.5)  # past the exporter's 1 s batch delay, had it been on
    finally:
        srv.stop()
        receiver.shutdown()
    assert receiver.posts == []
