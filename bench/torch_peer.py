"""PyTorch peer for the normkit bench (optional; driven by `node bench/run.js --torch`).

Reads a JSON spec on stdin: {"cases": [...], "threads": [...], "opts": {...}} with the same
case list and sampling options as run.js, times what a PyTorch user calls for each case's op
(BUILDERS: torch.nn.functional.layer_norm, batch_norm, group_norm, instance_norm, the RMSNorm
formula, and torch.add followed by the norm for the fused residual ops) at each thread count
(torch.set_num_threads), and prints one JSON object on
stdout: {"version": ..., "results": [{"case", "threads", "median", "min", "max", "reps",
"calls"}]}. Times are seconds per call.
"""

import json
import os
import sys
import time


def quantile(s, q):
    """Linear interpolation between the closest ranks, as bench/measure.js."""
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(samples, calls):
    per_call = sorted(s / calls for s in samples)
    return {
        "median": quantile(per_call, 0.5),
        "q1": quantile(per_call, 0.25),
        "q3": quantile(per_call, 0.75),
        "min": per_call[0],
        "max": per_call[-1],
        "reps": len(per_call),
        "calls": calls,
    }


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
        if warm_time > opts["budgetS"]:
            break  # one call longer than a row's budget: warm enough
        if latency and warm_time < opts["warmupS"] / 4:
            chunk = min(chunk * 2, 1 << 16)
    if latency:
        calls = max(1, round(opts["sampleS"] / max(warm_time / warm_calls, 1e-9)))
    # As bench/measure.js: 3 samples for a call longer than a row's budget.
    reps = min(opts["minReps"], 3) if warm_time / warm_calls > opts["budgetS"] else opts["minReps"]
    samples, spent = [], 0.0
    while len(samples) < reps or (spent < opts["budgetS"] and len(samples) < opts["maxReps"]):
        t = run_once(calls)
        samples.append(t)
        spent += t
    return summarize(samples, calls)


# What a PyTorch 1.13 user writes for each op, keyed by the case's op (the normkit descriptor
# name). A norm builder takes (torch, F, case, gen), makes the parameters from gen, and returns
# the norm as a function of its input tensor.


def layer_norm(torch, F, case, gen):
    h = case["shape"][-1]
    w = torch.randn(h, generator=gen)
    b = torch.randn(h, generator=gen)
    return lambda x: F.layer_norm(x, (h,), w, b, 1e-5)


def batch_norm(torch, F, case, gen):
    c = case["shape"][1]
    w = torch.randn(c, generator=gen)
    b = torch.randn(c, generator=gen)
    rm = torch.zeros(c)
    rv = torch.ones(c)
    training = bool(case.get("training"))
    return lambda x: F.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)


def rms_norm(torch, F, case, gen):
    # F.rms_norm from torch 2.4; before it, the formula users write. Both with float32 epsilon.
    h = case["shape"][-1]
    w = torch.randn(h, generator=gen)
    eps = torch.finfo(torch.float32).eps
    if hasattr(F, "rms_norm"):
        return lambda x: F.rms_norm(x, (h,), w, eps)
    return lambda x: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def group_norm(torch, F, case, gen):
    c = case["shape"][1]
    w = torch.randn(c, generator=gen)
    b = torch.randn(c, generator=gen)
    groups = case["peer"]["numGroups"]
    return lambda x: F.group_norm(x, groups, w, b, 1e-5)


def instance_norm(torch, F, case, gen):
    c = case["shape"][1]
    w = torch.randn(c, generator=gen)
    b = torch.randn(c, generator=gen)
    return lambda x: F.instance_norm(x, None, None, w, b, True, 0.1, 1e-5)


def on_input(norm_of):
    """The norm of the case's input."""

    def build(torch, F, case, x, gen):
        norm = norm_of(torch, F, case, gen)
        return lambda: norm(x)

    return build


def add_then(norm_of):
    """The unfused pair of a fused residual op: torch.add into a preallocated sum, then the norm."""

    def build(torch, F, case, x, gen):
        norm = norm_of(torch, F, case, gen)
        r = torch.randn(*case["shape"], generator=gen, dtype=torch.float32)
        s = torch.empty_like(x)

        def call():
            torch.add(x, r, out=s)
            return norm(s), s

        return call

    return build


BUILDERS = {
    "layerNorm": on_input(layer_norm),
    "batchNorm": on_input(batch_norm),
    "rmsNorm": on_input(rms_norm),
    "groupNorm": on_input(group_norm),
    "instanceNorm": on_input(instance_norm),
    "addLayerNorm": add_then(layer_norm),
    "addRmsNorm": add_then(rms_norm),
}


def make_call(torch, F, case):
    """A call for the case, or None where no builder covers its op."""
    build = BUILDERS.get(case["op"])
    if build is None:
        return None
    shape = case["shape"]
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(*shape, generator=gen, dtype=torch.float32)
    if case.get("layout") == "channels_last" and len(shape) == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return build(torch, F, case, x, gen)


def cpu_capability(torch):
    """The kernels' instruction set ATen picked (ATEN_CPU_CAPABILITY limits it), where it says."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - torch < 2.0 has no such query
        pass
    try:
        for line in torch.__config__.show().splitlines():
            if "CPU capability usage" in line:
                return line.split(":", 1)[1].strip()
    except Exception:  # noqa: BLE001
        pass
    return os.environ.get("ATEN_CPU_CAPABILITY") or None


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
            if call is None:
                print("torch %s: no peer for op %s" % (case["id"], case["op"]), file=sys.stderr)
                continue
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
    print(json.dumps({"version": torch.__version__, "capability": cpu_capability(torch), "results": results}))


if __name__ == "__main__":
    main()
