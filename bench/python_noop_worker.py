"""A Python worker whose `sample_task_1` does nothing: the SDK's own cost per task.
NOOP_KIND=async (default) runs it on the event loop, NOOP_KIND=sync on the thread pool.

    python -m smart_routing_worker bench/python_noop_worker.py:worker --dispatcher ws://... --slots 4
"""

import os

from smart_routing_worker import TaskContext, Worker

worker = Worker("ws://127.0.0.1:8080/worker-listen", worker_id="py-noop")

if os.environ.get("NOOP_KIND", "async") == "sync":

    @worker.task("sample_task_1")
    def noop(model: None, params: dict, ctx: TaskContext) -> dict:
        return {}

else:

    @worker.task("sample_task_1")
    async def noop(model: None, params: dict, ctx: TaskContext) -> dict:
        return {}
