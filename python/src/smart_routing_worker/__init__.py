"""smart-routing worker SDK: serve Python models to a smart-routing dispatcher.

    from smart_routing_worker import Worker, TaskContext

    worker = Worker("ws://127.0.0.1:8080/worker-listen", worker_id="py-1")

    @worker.loader
    def load(label: str):
        return MyModel(label)

    @worker.task("embed_texts")
    def embed(model, params: dict, ctx: TaskContext) -> dict:
        return {"embeddings": model.embed(params["texts"])}

    worker.run()

An exception in the loader fails the load (LOAD_FAILED): the task runs on another worker.
Raise `WorkerFault` from a task when this worker is broken (WORKER_FAULT).
"""

from .context import TaskContext
from .worker import Worker, WorkerError, WorkerFault

__all__ = ["TaskContext", "Worker", "WorkerError", "WorkerFault", "__version__"]
__version__ = "0.1.0"
