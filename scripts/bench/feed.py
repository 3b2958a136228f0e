"""Feeds a local sls-lite logstore through WebTracking (POST .../track, 200 records a request)
for scripts/bench.sh: `--count N` as fast as it can, or `--rate R --seconds S` paced, each
record carrying `sent_ms` (the time it was sent, in ms since the epoch) for the
put-to-visible latency. Only loopback addresses are used."""

import argparse
import json
import time
import urllib.request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sls", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--logstore", required=True)
    p.add_argument("--count", type=int)
    p.add_argument("--rate", type=float)
    p.add_argument("--seconds", type=float)
    p.add_argument("--start-id", type=int, default=1)
    a = p.parse_args()
    url = f"http://{a.sls}/logstores/{a.logstore}/track"
    host = f"{a.project}.{a.sls}"
    next_id = a.start_id

    def put(n):
        nonlocal next_id
        now = str(int(time.time() * 1000))
        logs = [{"id": str(next_id + i), "sent_ms": now, "payload": "x" * 64} for i in range(n)]
        body = json.dumps({"__topic__": "bench", "__logs__": logs}).encode()
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Host": host, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
        next_id += n

    if a.count is not None:
        left = a.count
        while left > 0:
            k = min(200, left)
            put(k)
            left -= k
    else:
        # Paced: a request every 20 ms with the records due by then.
        start = time.time()
        sent = 0
        while time.time() - start < a.seconds:
            due = int((time.time() - start) * a.rate) - sent
            while due > 0:
                k = min(200, due)
                put(k)
                sent += k
                due -= k
            time.sleep(0.02)
    print(next_id - a.start_id)


if __name__ == "__main__":
    main()
