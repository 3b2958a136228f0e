"""Requests an idle Log Service shard costs, for scripts/bench.sh: holo-host and then the
official Python consumer library (the reference, when its venv can be had) each hold the 4
shards of an idle sls-lite logstore for --seconds; the requests sls-lite served meanwhile
(its /_admin/stats counters, by operation) are printed as JSON, per shard and second. Only
loopback addresses are used."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

SHARDS = 4


def requests(sls):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{sls}/_admin/stats", timeout=10) as r:
        return json.loads(r.read())["requests"]


def per_shard_second(before, after, seconds):
    ops = sorted(set(before) | set(after))
    rates = {op: (after.get(op, 0) - before.get(op, 0)) / SHARDS / seconds for op in ops}
    rates = {op: round(r, 3) for op, r in rates.items() if r > 0}
    rates["all"] = round(sum(rates.values()), 3)
    return rates


def holo_host(a):
    spec = (f"sls://bench/idle?endpoint=http://{a.sls}&anonymous=true&start=end"
            f"&consumer_group=bench&columns=id,sent_ms,payload&meta=none")
    proc = subprocess.Popen([a.holo_host, "run", "--source", spec, "--sink", a.dsn,
                             "--table", "public.idle", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Opened and holding its shards before counting.
    time.sleep(3)
    before = requests(a.sls)
    time.sleep(a.seconds)
    after = requests(a.sls)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    return per_shard_second(before, after, a.seconds)


def python_consumer(a):
    if not a.python or not os.path.exists(a.python):
        return {"skipped": "the official Python SDK's venv is not there"}
    env = dict(os.environ, HTTP_PROXY=f"http://{a.sls}", http_proxy=f"http://{a.sls}", NO_PROXY="")
    script = os.path.join(os.path.dirname(__file__), "idle_consumer.py")
    proc = subprocess.Popen([a.python, script, "--endpoint", "http://sls.local", "--project", "bench",
                             "--logstore", "idlepy", "--seconds", str(a.seconds + 6)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    before = requests(a.sls)
    time.sleep(a.seconds)
    after = requests(a.sls)
    proc.wait(timeout=120)
    return per_shard_second(before, after, a.seconds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sls", required=True)
    p.add_argument("--holo-host", required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--python", help="a python with aliyun-log-python-sdk")
    p.add_argument("--seconds", type=float, default=20)
    a = p.parse_args()
    out = {"seconds": a.seconds, "holo-host": holo_host(a), "python consumer": python_consumer(a)}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
