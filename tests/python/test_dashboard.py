"""The dashboard in a real browser: Debian's chromium driven by Playwright (no browser
download). The page loads without console errors, lists the connected workers, and
updates after tasks run. `UPDATE_SCREENSHOT=1` rewrites docs/dashboard.png."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

from conftest import ROOT, Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (apt-get install chromium; .ci/run does)")
    with playwright_api.sync_playwright() as p:
        profile = tempfile.mkdtemp(prefix="sr-chromium-")
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def run(server: Server, task_id: str, label: str) -> None:
    body = {"task_id": task_id, "task_type": "sample_task_1", "label": label, "parameters_json": "{}"}
    reply = server.post("/run-task", json=body)
    assert reply.status_code == 200, reply.text


def test_dashboard_lists_workers_and_updates_after_tasks(server: Server, browser_page) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    shot = os.environ.get("UPDATE_SCREENSHOT") == "1"
    scale = "0.1" if shot else "0.01"  # the screenshot shows a queue building and draining
    server.spawn_worker("--worker-id", "sim-a", "--simulate", "--time-scale", scale, "--slots", "2")
    server.spawn_worker("--worker-id", "sim-b", "--simulate", "--time-scale", scale)
    server.wait_workers(2)

    page.goto(server.url + "/")
    page.wait_for_selector('#workers tr[data-worker="sim-a"]', timeout=10_000)
    page.wait_for_selector('#workers tr[data-worker="sim-b"]', timeout=10_000)
    assert "0 / 2" in page.inner_text('#workers tr[data-worker="sim-a"]')
    assert page.inner_text("#n-workers") == "2"
    assert page.locator("#labels tr[data-label]").count() == 0

    for i in range(6):
        run(server, f"dash-{i}", "label-1" if i % 2 else "label-2")

    # The next poll (every 2 s) shows the tasks: counts, hit rate, latency, events.
    page.wait_for_selector('#labels tr[data-label="label-1"]', timeout=10_000)
    page.wait_for_function(
        """() => {
            const row = document.querySelector('#labels tr[data-label="label-1"]');
            return row && row.children[1].textContent === "3" && row.children[8].textContent !== "–"
                && !row.children[4].textContent.endsWith("–");
        }""",
        timeout=10_000,
    )
    cells = [c.inner_text() for c in page.locator('#labels tr[data-label="label-1"] td').all()]
    assert cells[0] == "label-1" and cells[1] == "3", cells
    assert cells[3].endswith("%"), cells
    # Its copies and the planner's target (both at least one: it was just used), its demand.
    copies, target = (int(n) for n in cells[4].split(" / "))
    assert copies >= 1 and target >= 1, cells
    assert float(cells[5]) > 0, cells
    assert any(ch.isdigit() for ch in cells[6]), cells  # p50 shown
    page.wait_for_function(
        "() => document.querySelector('#events tbody').textContent.includes('task_completed')",
        timeout=10_000,
    )
    # Each worker now holds a label (loaded after its first miss).
    loaded = page.inner_text("#workers tbody")
    assert "label-1" in loaded and "label-2" in loaded, loaded
    assert page.locator("#queue-chart polyline").count() >= 1

    if shot:
        labels = ["label-1", "label-2", "label-3", "label-4"]
        for i in range(120):
            body = {"task_id": f"load-{i}", "task_type": "sample_task_1", "label": labels[i % 4], "parameters_json": "{}"}
            assert server.post("/send-task", json=body).status_code == 202
        time.sleep(9)
        page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
    else:
        page.screenshot(path=str(Path(server.workdir) / "dashboard.png"), full_page=True)
    assert problems == [], problems


def test_docs_page_renders_the_description(server: Server, browser_page) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server.url + "/docs")
    page.wait_for_selector("details.op summary code", timeout=10_000)
    text = page.inner_text("#ops")
    for path in ["/run-task", "/send-task", "/tasks/{task_id}", "/metrics", "/dashboard/state"]:
        assert path in text, path
    assert "TaskView" in page.inner_text("#schemas")
    assert problems == [], problems
