"""PyTorch peer for the normkit bench (optional; driven by `node bench/run.js --torch`).

Reads a JSON spec on stdin: {"cases": [...], "threads": [...], "opts": {...}} with the same
case list and sampling options as run.js, times torch.nn.functional.layer_norm / batch_norm
on each case at each thread count (torch.set_num_threads), and prints one JSON object on
stdout: {"version": ..., "results": [{"case", "threads", "median", "min", "max", "reps",
"calls"}]}. Times are seconds per call.
"""

import json
import os
import sys
import time


def summarize(samples, calls):
    per_call = sorted(s / calls for s in samples)
    n = len(per_call)
    mid = n // 2
    median = per_call[mid] if n % 2 else (per_call[mid - 1] + per_call[mid]) / 2
    return {"median": median, "min": per_call[0], "max": per_call[-1], "reps": n, "calls": calls}


def read_busy():
    """Busy CPU seconds of the whole machine (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100.0
    except (OSError, ValueError, IndexError):
        return None


def other_load(busy0, own0, t0):
    """Share of all cores that other processes used since (busy0, own0, t0), like run.js."""
    busy1 = read_busy()
    if busy0 is None or busy1 is None:
        return None
    own1 = os.times()
    own = (own1.user - own0.user) + (own1.system - own0.system)
    wall = time.perf_counter() - t0
    cores = os.cpu_count() or 1
    others = busy1 - busy0 - own
    if wall <= 0 or others < 0.02 * cores:
        return 0.0
    return min(1.0, others / (wall * cores))


def measure(fn, opts, latency):
    def run_once(k):
        t0 = time.perf_counter()
        fn(k)
        return time.perf_counter() - t0

    calls, warm_calls, warm_time, chunk = 1, 0, 0.0, 1
    while warm_calls < opts["minWarmup"] or warm_time < opts["warmupS"]:
        warm_time += run_once(chunk)
        warm_calls += chunk
        if latency and warm_time < opts["warmupS"] / 4:
            chunk = min(chunk * 2, 1 << 16)
    if latency:
        calls = max(1, round(opts["sampleS"] / max(warm_time / warm_calls, 1e-9)))
    samples, spent = [], 0.0
    while len(samples) < opts["minReps"] or (spent < opts["budgetS"] and len(samples) < opts["maxReps"]):
        t = run_once(calls)
        samples.append(t)
        spent += t
    return summarize(samples, calls)


def make_call(torch, F, case):
    shape = case["shape"]
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(*shape, generator=gen, dtype=torch.float32)
    if case["op"] == "layerNorm":
        h = shape[-1]
        w = torch.randn(h, generator=gen)
        b = torch.randn(h, generator=gen)
        return lambda: F.layer_norm(x, (h,), w, b, 1e-5)
    c = shape[1]
    if case.get("layout") == "channels_last" and len(shape) == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(c, generator=gen)
    b = torch.randn(c, generator=gen)
    rm = torch.zeros(c)
    rv = torch.ones(c)
    training = bool(case.get("training"))
    return lambda: F.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)


def main():
    spec = json.load(sys.stdin)
    try:
        import torch
        import torch.nn.functional as F
    except Exception as err:  # noqa: BLE001 - any import failure means "not available"
        print(json.dumps({"error": "cannot import torch: %s" % err}))
        return
    opts = spec["opts"]
    results = []
    with torch.inference_mode():
        for case in spec["cases"]:
            call = make_call(torch, F, case)
            latency = case["kind"] == "latency"

            def fn(k, call=call):
                for _ in range(k):
                    call()

            for threads in spec["threads"]:
                torch.set_num_threads(threads)
                busy0, own0, t0 = read_busy(), os.times(), time.perf_counter()
                r = measure(fn, opts, latency)
                r.update({"case": case["id"], "threads": threads})
                load = other_load(busy0, own0, t0)
                if load is not None:
                    r["otherLoad"] = load
                results.append(r)
                print("torch %s %d thr: %.4f ms" % (case["id"], threads, r["median"] * 1e3), file=sys.stderr)
    print(json.dumps({"version": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
