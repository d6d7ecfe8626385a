"""`python -m smart_routing_worker module:attribute`: runs a `Worker` defined in a module
(or a file: `path/to/worker.py:worker`), with command-line overrides of its settings."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path

from .worker import TOKEN_ENV, Worker, WorkerError


def load_target(target: str) -> Worker:
    """Imports `module:attribute` (the module may be a path to a .py file)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise SystemExit(f"expected module:attribute (e.g. echo_worker:worker), got {target!r}")
    if module_name.endswith(".py"):
        path = Path(module_name)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None or not path.is_file():
            raise SystemExit(f"cannot load {module_name}: no such file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(module_name)
    worker = getattr(module, attribute, None)
    if not isinstance(worker, Worker):
        raise SystemExit(f"{target}: {attribute!r} is not a smart_routing_worker.Worker")
    return worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smart_routing_worker", description=__doc__)
    parser.add_argument("target", help="module:attribute of the Worker to run")
    parser.add_argument("--dispatcher", help="ws://HOST:PORT/worker-listen (wss://... over TLS)")
    parser.add_argument("--worker-id")
    parser.add_argument("--max-labels", type=int, help="K: labels held at once")
    parser.add_argument("--slots", type=int, help="tasks run at once")
    parser.add_argument("--token", help=f"worker token (also {TOKEN_ENV})")
    parser.add_argument("--ca-file", help="for wss://: PEM file of the CA(s) to trust instead of the system's")
    parser.add_argument("--log-level", default="INFO", help="Python logging level (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = load_target(args.target)
    overrides = {
        "url": args.dispatcher,
        "worker_id": args.worker_id,
        "max_labels": args.max_labels,
        "slots": args.slots,
        "token": args.token,
        "ca_file": args.ca_file,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(worker, name, value)
    try:
        worker.run()
    except (WorkerError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
