"""Runs the official Python consumer library (aliyun.log.consumer.ConsumerWorker) against sls-lite.

Run by tests/it/python_sdk.rs with HTTP_PROXY pointing at the server: the library builds its own
LogClient from the endpoint, which then sends proxy-style absolute URLs (`http://demo.127.0.0.1:PORT/...`).
Two workers join one consumer group, the server balances the shards between them, logs put
afterwards are each consumed exactly once, and every shard's checkpoint ends at its end cursor.
"""

import argparse
import json
import sys
import threading
import time
import urllib.request

from aliyun.log import LogClient, LogItem, PutLogsRequest
from aliyun.log.consumer import ConsumerProcessorBase, ConsumerWorker, CursorPosition, LogHubConfig

LOCK = threading.Lock()
SEEN = {}


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


class Collect(ConsumerProcessorBase):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def process(self, log_groups, check_point_tracker):
        for group in log_groups.LogGroups:
            for log in group.Logs:
                fields = {text(c.Key): text(c.Value) for c in log.Contents}
                with LOCK:
                    SEEN.setdefault(fields["order_id"], []).append((self.name, fields["book_name"]))
        self.save_checkpoint(check_point_tracker, force=True)


def stats(admin):
    # Straight to the server, not through the proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(admin + "/_admin/stats", timeout=5) as r:
        return json.loads(r.read().decode("utf-8"))


def group_state(admin, logstore, group):
    for ls in stats(admin)["logstores"]:
        if ls["logstore"] == logstore:
            for g in ls["consumer_groups"]:
                if g["name"] == group:
                    return g
    return None


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    check(False, "timed out waiting for " + what)


def main():
    parser = argparse.ArgumentParser()
    for name in ("--endpoint", "--admin", "--project", "--logstore",
                 "--access-key-id", "--access-key-secret"):
        parser.add_argument(name, required=True)
    parser.add_argument("--shards", type=int, required=True)
    args = parser.parse_args()
    group = "py-workers"

    workers = []
    for name in ("c1", "c2"):
        option = LogHubConfig(args.endpoint, args.access_key_id, args.access_key_secret,
                              args.project, args.logstore, group, name,
                              cursor_position=CursorPosition.BEGIN_CURSOR,
                              heartbeat_interval=1, data_fetch_interval=0.2)
        worker = ConsumerWorker(Collect, option, args=(name,))
        worker.start()
        workers.append(worker)

    def balanced():
        g = group_state(args.admin, args.logstore, group)
        if g is None or sorted(g["members"]) != ["c1", "c2"]:
            return False
        owners = list(g["owners"].values())
        if len(owners) != args.shards or owners.count("c1") != owners.count("c2"):
            return False
        # Handover done: each member lists exactly the shards it owns.
        for member in ("c1", "c2"):
            mine = sorted(int(s) for s, m in g["owners"].items() if m == member)
            if sorted(g["held"][member]) != mine:
                return False
        return True

    wait_for("two balanced members", balanced)

    client = LogClient(args.endpoint, args.access_key_id, args.access_key_secret)
    put = {}
    for round_ in range(8):
        items = []
        for i in range(5):
            order_id = "w-%d-%d" % (round_, i)
            put[order_id] = "こころ-%d" % i
            items.append(LogItem(contents=[("order_id", order_id), ("book_name", put[order_id])]))
        client.put_logs(PutLogsRequest(args.project, args.logstore, topic="orders",
                                       source="10.0.0.9", logitems=items))

    wait_for("every log consumed", lambda: len(SEEN) >= len(put))

    def checkpoints_at_end():
        cps = client.get_check_point(args.project, args.logstore, group).get_consumer_group_check_points()
        ends = {s: client.get_cursor(args.project, args.logstore, s, "end").get_cursor()
                for s in range(args.shards)}
        return all(cp["checkpoint"] == ends[cp["shard"]] for cp in cps) and len(cps) == args.shards

    wait_for("checkpoints at the end of every shard", checkpoints_at_end)
    for worker in workers:
        worker.shutdown()
    for worker in workers:
        worker.join(timeout=20)
        check(not worker.is_alive(), "worker stops")

    check(set(SEEN) == set(put), "consumed exactly the logs put")
    dups = {k: v for k, v in SEEN.items() if len(v) != 1}
    check(not dups, "each log consumed once: %r" % dups)
    for order_id, [(consumer, name)] in SEEN.items():
        check(name == put[order_id], "value of %s" % order_id)
    consumers = {v[0][0] for v in SEEN.values()}
    check(consumers == {"c1", "c2"}, "both workers consumed: %r" % consumers)
    print(json.dumps({"consumed": len(SEEN), "consumers": sorted(consumers)}))


if __name__ == "__main__":
    main()
