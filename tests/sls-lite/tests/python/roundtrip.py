"""Drives sls-lite with the official Python SDK (aliyun-log-python-sdk), unchanged.

Run by tests/it/python_sdk.rs with the server's endpoint, project, logstore, shard count and
access key. Puts logs (LogItem list, topic, source, tags, Japanese values; lz4 and
uncompressed), reads them back with get_cursor + pull_logs, lists shards, checks cursors and
error codes, and uses a consumer group (create, list, heartbeat, checkpoint). Prints one JSON
line describing what it put, for the Rust side to check with its own client; exits non-zero
on the first mismatch.
"""

import argparse
import json
import sys
import time

from aliyun.log import LogClient, LogException, LogItem, PutLogsRequest

BOOKS = [
    ("1", "嫌われる勇気", "500"),
    ("2", "ノルウェイの森", "600"),
    ("3", "海辺のカフカ", "700"),
    ("4", "色彩を持たない多崎つくると彼の巡礼の年", "300"),
    ("5", "容疑者Ⅹの献身", "200"),
]


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def make_client(args, secret):
    client = LogClient(args.endpoint, args.access_key_id, secret)
    # An IP endpoint with a scheme is not detected as one: send to the IP, project in Host.
    client._isRowIp = True
    return client


def pull_everything(client, args, shard_count):
    logs = []
    for shard in range(shard_count):
        cursor = client.get_cursor(args.project, args.logstore, shard, "begin").get_cursor()
        while True:
            res = client.pull_logs(args.project, args.logstore, shard, cursor, count=2)
            logs.extend(res.get_flatten_logs_json(decode_bytes=True))
            nxt = res.get_next_cursor()
            if nxt == cursor:
                check(res.get_loggroup_count() == 0, "caught-up pull returns no log group")
                break
            cursor = nxt
    return logs


def main():
    parser = argparse.ArgumentParser()
    for name in ("--endpoint", "--project", "--logstore", "--access-key-id", "--access-key-secret"):
        parser.add_argument(name, required=True)
    parser.add_argument("--shards", type=int, required=True)
    args = parser.parse_args()
    client = make_client(args, args.access_key_secret)

    shards = client.list_shards(args.project, args.logstore).get_shards_info()
    check(len(shards) == args.shards, "list_shards returns %d shards: %r" % (args.shards, shards))
    check(all(s["status"] == "readwrite" for s in shards), "all shards readwrite")
    check(sorted(s["shardID"] for s in shards) == list(range(args.shards)), "shard ids")

    started = int(time.time())
    put = []
    for round_ in range(3):
        items = []
        for book_id, name, price in BOOKS:
            order_id = "py-%d-%s" % (round_, book_id)
            contents = [("order_id", order_id), ("book_id", book_id),
                        ("book_name", name), ("order_amt", price)]
            items.append(LogItem(timestamp=started, contents=contents))
            put.append(dict(contents))
        req = PutLogsRequest(args.project, args.logstore, topic="orders", source="10.1.2.3",
                             logitems=items, logtags=[("env", "test")],
                             compress=(round_ != 2))
        client.put_logs(req)

    logs = pull_everything(client, args, args.shards)
    check(len(logs) == len(put), "pulled %d logs, put %d" % (len(logs), len(put)))
    by_id = {log["order_id"]: log for log in logs}
    for want in put:
        got = by_id.get(want["order_id"])
        check(got is not None, "log %s pulled back" % want["order_id"])
        for key, value in want.items():
            check(got[key] == value, "%s of %s: %r != %r" % (key, want["order_id"], got[key], value))
        check(got["__topic__"] == "orders", "topic")
        check(got["__source__"] == "10.1.2.3", "source")
        check(got["__tag__:env"] == "test", "tag env")
        receive = int(got["__tag__:__receive_time__"])
        check(abs(receive - started) < 60, "receive time %d near %d" % (receive, started))
        check(got["__time__"] == started, "log time")

    # Cursors: end, from a time, and back to a time.
    for shard in range(args.shards):
        end = client.get_cursor(args.project, args.logstore, shard, "end").get_cursor()
        res = client.pull_logs(args.project, args.logstore, shard, end, count=10)
        check(res.get_loggroup_count() == 0 and res.get_next_cursor() == end, "end cursor is caught up")
        first = client.get_cursor(args.project, args.logstore, shard, started - 10).get_cursor()
        begin = client.get_cursor(args.project, args.logstore, shard, "begin").get_cursor()
        check(first == begin, "cursor from before the first log is the begin cursor")
        later = client.get_cursor(args.project, args.logstore, shard, started + 3600).get_cursor()
        check(later == end, "cursor from the future is the end cursor")
        t = client.get_cursor_time(args.project, args.logstore, shard, begin).get_cursor_time()
        check(abs(int(t) - started) < 60, "cursor time %r" % t)

    # Consumer group: create, list, heartbeat, checkpoint.
    client.create_consumer_group(args.project, args.logstore, "py-cg", 60)
    try:
        client.create_consumer_group(args.project, args.logstore, "py-cg", 60)
        check(False, "second create fails")
    except LogException as e:
        check(e.get_error_code() == "ConsumerGroupAlreadyExist", "duplicate group: " + e.get_error_code())
    names = [g.get_consumer_group_name() for g in
             client.list_consumer_group(args.project, args.logstore).get_consumer_groups()]
    check("py-cg" in names, "list_consumer_group shows py-cg: %r" % names)
    owned = client.heart_beat(args.project, args.logstore, "py-cg", "c1", []).get_shards()
    check(sorted(owned) == list(range(args.shards)), "one consumer owns every shard: %r" % owned)
    client.heart_beat(args.project, args.logstore, "py-cg", "c1", owned)
    owned2 = client.heart_beat(args.project, args.logstore, "py-cg", "c2", []).get_shards()
    owned1 = client.heart_beat(args.project, args.logstore, "py-cg", "c1", owned).get_shards()
    check(len(owned1) == args.shards // 2, "c1 gives up half its shards: %r" % owned1)
    check(owned2 == [], "c2 waits while c1 still lists its shards: %r" % owned2)
    client.heart_beat(args.project, args.logstore, "py-cg", "c1", owned1)
    owned2 = client.heart_beat(args.project, args.logstore, "py-cg", "c2", []).get_shards()
    check(sorted(owned1 + owned2) == list(range(args.shards)), "c1 and c2 share the shards")
    end0 = client.get_cursor(args.project, args.logstore, owned1[0], "end").get_cursor()
    client.update_check_point(args.project, args.logstore, "py-cg", owned1[0], end0, consumer="c1")
    cps = client.get_check_point(args.project, args.logstore, "py-cg", owned1[0]).get_consumer_group_check_points()
    check(len(cps) == 1 and cps[0]["checkpoint"] == end0 and cps[0]["consumer"] == "c1",
          "checkpoint read back: %r" % cps)
    client.delete_consumer_group(args.project, args.logstore, "py-cg")

    # Errors come back as LogException with the service's codes.
    bad = make_client(args, args.access_key_secret + "x")
    try:
        bad.list_shards(args.project, args.logstore)
        check(False, "wrong secret fails")
    except LogException as e:
        check(e.get_error_code() == "SignatureNotMatch", "wrong secret: " + e.get_error_code())
    for call, code in [
        (lambda: client.list_shards("no-such-project", args.logstore), "ProjectNotExist"),
        (lambda: client.list_shards(args.project, "no_such_logstore"), "LogStoreNotExist"),
        (lambda: client.get_cursor(args.project, args.logstore, 99, "begin"), "ShardNotExist"),
        (lambda: client.pull_logs(args.project, args.logstore, 0, "bm90IGEgY3Vyc29y", count=1), "ParameterInvalid"),
    ]:
        try:
            call()
            check(False, code + " expected")
        except LogException as e:
            check(e.get_error_code() == code, "expected %s, got %s" % (code, e.get_error_code()))
            check(e.get_request_id() != "", "request id on " + code)

    print(json.dumps({"started": started, "logs": put}, ensure_ascii=False))


if __name__ == "__main__":
    main()
