"""Client side of bench/gpu.sh: CPU and cuda:0 embeddings compared, then throughput of
sequential batches and of concurrent single-text clients (dynamic batching)."""
import concurrent.futures as cf
import json
import statistics
import sys
import time
import urllib.request

URL = sys.argv[1] + "/run-task"
counter = 0


def run(label, texts):
    global counter
    counter += 1
    body = {"task_id": f"g-{counter}-{time.time_ns()}", "task_type": "embed_texts", "label": label,
            "parameters_json": json.dumps({"texts": texts})}
    req = urllib.request.Request(URL, json.dumps(body).encode(), {"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as response:
            view = json.load(response)
    except urllib.error.HTTPError as error:
        view = json.load(error)
    return view, time.perf_counter() - started


reference = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
vectors = {}
for label in ["minilm-cpu", "minilm-cuda"]:
    view, _ = run(label, reference)
    if view.get("status") != "completed":
        print(label, "FAILED", json.dumps(view)[:600])
        continue
    e = vectors[label] = view["result"]["embeddings"]
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))
    print(f"{label}: load_ms {view['timings']['load_ms']}, cos01 {dot(e[0], e[1]):.4f} "
          f"cos02 {dot(e[0], e[2]):.4f} cos12 {dot(e[1], e[2]):.4f}")
if len(vectors) == 2:
    diff = max(abs(a - b) for u, v in zip(vectors["minilm-cpu"], vectors["minilm-cuda"]) for a, b in zip(u, v))
    print(f"max |cpu - cuda| over 3x384 values: {diff:.2e}")

sentences = [f"sentence number {i} about the weather, the stadium and a drive outside" for i in range(512)]
for label in vectors:
    for batch in [1, 8, 32]:
        reps = max(4, 128 // batch)
        latencies = []
        started = time.perf_counter()
        for r in range(reps):
            view, seconds = run(label, sentences[(r * batch) % 480:(r * batch) % 480 + batch])
            assert view["status"] == "completed", view
            latencies.append(seconds)
        total = time.perf_counter() - started
        print(f"{label:12} batch {batch:2}: {reps * batch / total:7.1f} sentences/s, "
              f"p50 {1000 * statistics.median(latencies):.1f} ms ({reps} sequential requests)")
    for clients in [32]:
        n = 512
        started = time.perf_counter()
        with cf.ThreadPoolExecutor(clients) as pool:
            done = list(pool.map(lambda i: run(label, [sentences[i]])[0]["status"], range(n)))
        total = time.perf_counter() - started
        print(f"{label:12} {clients} concurrent single-text clients: {n / total:7.1f} sentences/s "
              f"({done.count('completed')}/{n} completed)")

view, _ = run("minilm-cuda9", ["x"])
print("device cuda:9 ->", view.get("status"), json.dumps(view.get("error"))[:300])
