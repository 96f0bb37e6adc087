"""Markdown tables from a bench/native/bundle.sh run: python3 bench/native/table.py OUT

For each of OUT's normkit-cache.txt and normkit-large.txt (bench/native/scaling.sh's output),
one row per case, one column per thread count; each cell is normkit's median in ms, then, in
brackets, its fraction of the limit (the streaming-store copy of the same bytes, timed
interleaved with it) and, where OUT has PyTorch's times for the case (torch-cache.json,
torch-large.json from torch_peer.py), PyTorch's median over normkit's (above 1: normkit faster).
"""

import json
import os
import re
import sys

ROW = re.compile(
    r"(?P<name>.*?)\s+(?P<thr>\d+)\s+[\d.]+\s+[\d.]+\s+(?P<ms>[\d.]+)\s+[\d.]+\s+[\d.]+"
    r"\s+[\d.]+\s+(?P<lim>[\d.]+)\s+[\d.]+$"
)
OPS = {
    "layer_norm": "ln",
    "rms_norm": "rms",
    "add_layer_norm": "addlayernorm",
    "add_rms_norm": "addrmsnorm",
}


def case_id(name):
    """The bench case id (bench/cases.js) of a scaling.cc case name, or None (no peer case)."""
    words = name.split()
    if words[0] == "large":
        words = words[1:]
    if "unfused" in words:
        return None
    shape = "x".join(s.strip() for s in re.search(r"\[([\d, ]+)\]", name).group(1).split(","))
    layout = "nhwc" if "NHWC" in words else "nchw"
    op = words[0]
    if op == "batch_norm":
        if "BN1d" in words:
            return "bn1d-train-" + shape
        return "bn2d-%s-%s-%s" % ("train" if "train" in words else "eval", layout, shape)
    if op == "group_norm":
        return "gn-g32-%s-%s" % (layout, shape)
    if op == "instance_norm":
        return "in2d-%s-%s" % (layout, shape)
    return "%s-%s" % (OPS[op], shape) if op in OPS else None


def table(out, part):
    path = os.path.join(out, "normkit-%s.txt" % part)
    if not os.path.exists(path):
        return
    rows, threads = {}, []
    with open(path) as f:
        for line in f:
            m = ROW.match(line.rstrip())
            if m:
                t = int(m.group("thr"))
                rows.setdefault(m.group("name").strip(), {})[t] = (
                    float(m.group("ms")),
                    float(m.group("lim")),
                )
                if t not in threads:
                    threads.append(t)
    torch = {}
    tpath = os.path.join(out, "torch-%s.json" % part)
    if os.path.exists(tpath):
        with open(tpath) as f:
            for r in json.load(f).get("results", []):
                torch[(r["case"], r["threads"])] = r["median"] * 1e3
    print("| %s | %s |" % (part, " | ".join("%d thr" % t for t in threads)))
    print("| --- |%s" % (" ---: |" * len(threads)))
    for name, cells in rows.items():
        cid = case_id(name)
        out_cells = []
        for t in threads:
            if t not in cells:
                out_cells.append("")
                continue
            ms, lim = cells[t]
            peer = torch.get((cid, t))
            ratio = "; %.2f" % (peer / ms) if peer else ""
            out_cells.append("%.3g (%.2f%s)" % (ms, lim, ratio))
        label = re.sub(r"^(large )?\w+ ", "", name)
        print("| %s | %s |" % (label, " | ".join(out_cells)))
    print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/native/table.py OUT")
    for part in ("cache", "large"):
        table(sys.argv[1], part)
