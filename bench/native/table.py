"""Markdown tables from a bench/native/bundle.sh run: python3 bench/native/table.py OUT

For each of OUT's normkit-cache.txt and normkit-large.txt (bench/native/scaling.sh's output),
one row per case, one column per thread count; each cell is normkit's median in ms, then, in
brackets, its fraction of the limit (the streaming-store copy of the same bytes, timed
interleaved with it) and, where OUT has PyTorch's times for the case (torch-cache.json,
torch-large.json from torch_peer.py, matched through the case names of spec-cache.json and
spec-large.json), PyTorch's median over normkit's (above 1: normkit faster).
"""

import json
import os
import re
import sys

ROW = re.compile(
    r"(?P<name>.*?)\s+(?P<thr>\d+)\s+[\d.]+\s+[\d.]+\s+(?P<ms>[\d.]+)\s+[\d.]+\s+[\d.]+"
    r"\s+[\d.]+\s+(?P<lim>[\d.]+)\s+[\d.]+$"
)


def case_ids(out, part):
    """scaling.cc's case names to the bench's case ids, from the spec the bundle ran with.

    scaling.cc names a case "<op> <bench name>" ("large <op> ..." out of cache) with spaced
    shapes; bench/cases.js names it "<bench name>" unspaced: compared without spaces.
    """
    path = os.path.join(out, "spec-%s.json" % part)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {c["name"].replace(" ", ""): c["id"] for c in json.load(f)["cases"] if "name" in c}


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
    ids = case_ids(out, part)
    torch = {}
    tpath = os.path.join(out, "torch-%s.json" % part)
    if os.path.exists(tpath):
        with open(tpath) as f:
            for r in json.load(f).get("results", []):
                torch[(r["case"], r["threads"])] = r["median"] * 1e3
    print("| %s | %s |" % (part, " | ".join("%d thr" % t for t in threads)))
    print("| --- |%s" % (" ---: |" * len(threads)))
    for name, cells in rows.items():
        label = re.sub(r"^(large )?\w+ ", "", name)
        cid = ids.get(label.replace(" ", ""))
        out_cells = []
        for t in threads:
            if t not in cells:
                out_cells.append("")
                continue
            ms, lim = cells[t]
            peer = torch.get((cid, t))
            ratio = "; %.2f" % (peer / ms) if peer else ""
            out_cells.append("%.3g (%.2f%s)" % (ms, lim, ratio))
        print("| %s | %s |" % (label, " | ".join(out_cells)))
    print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/native/table.py OUT")
    for part in ("cache", "large"):
        table(sys.argv[1], part)
