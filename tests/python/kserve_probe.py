"""Runs KServe's own Python client (`kserve.InferenceRESTClient`, protocol v2) against a
server, as a new user would, and prints what it got as one JSON object (an HTTP error as
its status and kserve's message). Run in the
kserve venv (`test_kserve_client.py` makes it): kserve needs grpcio >= 1.73, which
tritonclient 2.71's grpc extra (< 1.68) excludes, so it cannot share the test venv.

    python kserve_probe.py BASE_URL MODEL INPUT_NAME ROWS_JSON
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


async def outcome(call) -> object:
    """The call's value, or the HTTP error it raised as {"status", "error"}."""
    try:
        return await call
    except httpx.HTTPStatusError as error:
        return {"status": error.response.status_code, "error": str(error)}


async def probe(base_url: str, model: str, input_name: str, rows: list) -> dict:
    data = np.array(rows, dtype=np.float32)
    report: dict = {}
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60))
    try:
        report["live"] = await outcome(client.is_server_live(base_url))
        report["ready"] = await outcome(client.is_server_ready(base_url))
        report["model_ready"] = await outcome(client.is_model_ready(base_url, model))
        report["unknown_model_ready"] = await outcome(client.is_model_ready(base_url, "no-such-model"))
        for binary in (False, True):
            tensor = InferInput(input_name, list(data.shape), "FP32")
            tensor.set_data_from_numpy(data, binary_data=binary)
            outputs = [RequestedOutput("y", parameters={"binary_data": binary})] if binary else None
            request = InferRequest(model, [tensor], request_id=f"k-{binary}", request_outputs=outputs)
            response = await outcome(client.infer(base_url, request, model_name=model))
            if isinstance(response, dict):
                report[f"infer_binary_{str(binary).lower()}"] = response
                continue
            output = response.outputs[0]
            report[f"infer_binary_{str(binary).lower()}"] = {
                "id": response.id,
                "model_name": response.model_name,
                "name": output.name,
                "datatype": output.datatype,
                "shape": list(output.shape),
                "data": output.as_numpy().tolist(),
            }
        tensor = InferInput(input_name, list(data.shape), "FP32", data=data.tolist())
        request = InferRequest("no-such-model", [tensor])
        report["unknown_model_infer"] = await outcome(client.infer(base_url, request, model_name="no-such-model"))
    finally:
        await client.close()
    return report


def main() -> None:
    base_url, model, input_name, rows = sys.argv[1:5]
    print(json.dumps(asyncio.run(probe(base_url, model, input_name, json.loads(rows)))))


if __name__ == "__main__":
    main()
