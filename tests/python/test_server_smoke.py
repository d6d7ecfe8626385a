"""The Python harness reaches the real binary: health, and a task on a simulated worker."""

from conftest import Server


def test_health_and_a_simulated_task(server: Server) -> None:
    assert server.get("/health").json() == {"message": "OK"}
    server.spawn_worker("--worker-id", "sim-1", "--simulate", "--time-scale", "0.01")
    assert server.wait_workers(1) == ["sim-1"]
    body = {"task_id": "t-1", "task_type": "sample_task_1", "label": "label-1", "parameters_json": "{}"}
    reply = server.post("/run-task", json=body)
    assert reply.status_code == 200, reply.text
    view = reply.json()
    assert view["status"] == "completed"
    assert view["worker"] == "sim-1"
    assert view["label_miss"] is True
