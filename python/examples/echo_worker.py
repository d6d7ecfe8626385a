"""The smallest useful worker: echoes its parameters back, on any label.

    python -m smart_routing_worker echo_worker:worker --dispatcher ws://127.0.0.1:8080/worker-listen
"""

from smart_routing_worker import TaskContext, Worker

worker = Worker("ws://127.0.0.1:8080/worker-listen", worker_id="py-echo", max_labels=2, slots=1)


@worker.task("echo")
def echo(model: None, params: dict, ctx: TaskContext) -> dict:
    return {"echo": params, "label": ctx.label}


if __name__ == "__main__":
    worker.run()
