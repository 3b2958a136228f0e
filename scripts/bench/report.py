"""Turns target/bench/results.json (written by scripts/bench.sh) into a Markdown table
(target/bench/results.md, and between the bench markers of the page given with --docs PATH,
docs/performance.md; --readme PATH is its older name) and PNG plots (throughput against
rows, the put-to-visible latency distribution) when matplotlib is importable. Results are
ratios to the reference measured in the same run."""

import json
import sys
from pathlib import Path


def table(r):
    out = []
    m = r["machine"]
    out.append(f"Measured by `scripts/bench.sh` on {m['cores']} cores, {m['memory_gib']} GiB, "
               f"PostgreSQL {m['postgres']}, {r['rows']:,} seed orders, {r['date']}.")
    out.append("")
    out.append("| load (CSV → table `book_order`, text primary key) | seconds | rows/s | × reference "
               "| CPU s, client | CPU s, server |")
    out.append("|---|---|---|---|---|---|")
    ref = r["batch"]["reference"]
    base = r["batch"]["runs"][ref]["seconds"]
    for name, run in r["batch"]["runs"].items():
        if run.get("skipped"):
            out.append(f"| {name} | skipped: {run['skipped']} | | | | |")
            continue
        ratio = run["seconds"] / base
        mark = " (reference)" if name == ref else ""
        cpu = " | ".join(f"{run[k]:.2f}" if k in run else "" for k in ("client_cpu", "server_cpu"))
        out.append(f"| {name}{mark} | {run['seconds']:.2f} | {r['rows'] / run['seconds']:,.0f} | {ratio:.2f} | {cpu} |")
    out.append("")
    out.append("| transform stage (enrich, to stdout, no database) | seconds | rows/s | × Rust |")
    out.append("|---|---|---|---|")
    t = r["transform"]
    rust = t["runs"].get("rust", {}).get("seconds")
    for lang, run in t["runs"].items():
        if run.get("skipped"):
            out.append(f"| {lang} | skipped: {run['skipped']} | | |")
            continue
        ratio = f"{run['seconds'] / rust:.2f}" if rust else ""
        out.append(f"| {lang} ({t['rows']:,} rows) | {run['seconds']:.2f} | {t['rows'] / run['seconds']:,.0f} | {ratio} |")
    s = r["stream"]
    out.append("")
    out.append("| Log Service stream (sls-lite, 4 shards) | figure |")
    out.append("|---|---|")
    out.append(f"| backlog of {s['backlog']:,} records drained | {s['drain_seconds']:.2f} s ({s['backlog'] / s['drain_seconds']:,.0f} records/s) |")
    out.append(f"| resident memory while draining: peak / median | {s['rss_peak_mib']:.0f} MiB / {s['rss_median_mib']:.0f} MiB |")
    lat = s["latency"]
    out.append(f"| put-to-visible at {lat['rate']:,} records/s for {lat['seconds']} s (`--batch-interval` default) | p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms over {lat['records']:,} records |")
    slow = s.get("slow_shard")
    if slow:
        mbs = slow["bytes"] / slow["seconds"] / 1e6
        out.append(f"| one shard of {slow['records']:,} records ({slow['bytes'] / 1e6:.0f} MB) drained with {slow['latency_ms']} ms added to every pull | {slow['seconds']:.2f} s: {mbs:.1f} MB/s ({mbs / 5:.1f}× the 5 MB/s a shard takes in writes) |")
    idle = s.get("idle_requests")
    if idle:
        out.append("")
        out.append(f"| requests per idle shard and second ({idle['seconds']:.0f} s, 4 shards, one consumer group member) | all | by operation |")
        out.append("|---|---|---|")
        for who in ("holo-host", "python consumer"):
            rates = idle.get(who, {})
            if "skipped" in rates:
                out.append(f"| {who} | skipped: {rates['skipped']} | |")
                continue
            ops = ", ".join(f"{op} {r}" for op, r in rates.items() if op != "all")
            name = "official Python consumer library (defaults)" if who == "python consumer" else who
            out.append(f"| {name} | {rates.get('all', 0)} | {ops} |")
    return "\n".join(out) + "\n"


def plots(r, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not importable: no plots", file=sys.stderr)
        return []
    made = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in r["scaling"].items():
        xs = [p["rows"] for p in points]
        ys = [p["rows"] / p["seconds"] for p in points]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("rows loaded")
    ax.set_ylabel("rows per second")
    ax.set_title("CSV → PostgreSQL throughput against rows")
    ax.legend()
    ax.grid(True, alpha=0.3)
    path = out_dir / "throughput.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    made.append(path)
    lat = r["stream"]["latency"]["samples_ms"]
    if lat:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.hist(lat, bins=50)
        ax.set_xlabel("put-to-visible latency (ms)")
        ax.set_ylabel("records")
        ax.set_title("Log Service → PostgreSQL latency distribution")
        ax.grid(True, alpha=0.3)
        path = out_dir / "latency.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        made.append(path)
    return made


def main():
    out_dir = Path(sys.argv[1])
    r = json.loads((out_dir / "results.json").read_text())
    md = table(r)
    (out_dir / "results.md").write_text(md)
    for p in plots(r, out_dir):
        print(f"wrote {p}", file=sys.stderr)
    flag = next((f for f in ("--docs", "--readme") if f in sys.argv), None)
    if flag:
        page = Path(sys.argv[sys.argv.index(flag) + 1])
        text = page.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            page.write_text(head + start + "\n" + md + end + tail)
            print(f"updated {page}", file=sys.stderr)
    print(md)


if __name__ == "__main__":
    main()
