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
"""

from .context import TaskContext
from .worker import Worker, WorkerError

__all__ = ["TaskContext", "Worker", "WorkerError", "__version__"]
__version__ = "0.1.0"
