"""A logstore's life cycle through the official Python SDK (aliyun-log-python-sdk), unchanged.

Run by tests/it/python_sdk.rs with the server's endpoint, project, a logstore name that does
not exist yet and an access key (signatures are checked). Creates the logstore
(create_logstore, get_logstore), splits shards (split_shard with an empty and a given key),
merges two (merge_shard, parsed as the SDK's ListShardResponse), lists them, puts logs,
expires the oldest through sls-lite's admin API and pulls from a cursor taken before the
expiry (it reads from the new begin, no error), then deletes the logstore (delete_logstore)
and creates it again, whose shards refuse the old cursors. Prints one JSON line for the Rust
side; exits non-zero on the first mismatch.
"""

import argparse
import json
import sys
import urllib.request

from aliyun.log import LogClient, LogException, LogItem, PutLogsRequest

LEFT_HALF = "00000000000000000000000000000000"


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def fails_with(code, call):
    try:
        call()
    except LogException as e:
        check(e.get_error_code() == code, "expected %s, got %s: %s"
              % (code, e.get_error_code(), e.get_error_message()))
        return e
    check(False, code + " expected")


def summary(shards):
    return [(s["shardID"], s["status"], s["inclusiveBeginKey"][:2], s["exclusiveEndKey"][:2])
            for s in shards]


def admin_expire(endpoint, body):
    request = urllib.request.Request(endpoint + "/_admin/expire", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    # Straight to the server, whatever proxy the environment names.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as r:
        return json.loads(r.read().decode("utf-8"))


def create_and_reshard(client, args):
    p, ls = args.project, args.logstore
    client.create_logstore(p, ls, ttl=1, shard_count=2)
    info = client.get_logstore(p, ls)
    check((info.get_ttl(), info.get_shard_count()) == (1, 2), "get_logstore ttl and shards")
    check(info.auto_split and info.max_split_shard == 64, "the SDK's autoSplit defaults kept")
    fails_with("LogStoreAlreadyExist", lambda: client.create_logstore(p, ls, shard_count=2))
    check(ls in client.list_logstore(p).get_logstores(), "list_logstore shows it")

    split = client.split_shard(p, ls, 0, "").get_shards_info()
    check(summary(split) == [(0, "readonly", "00", "80"), (2, "readwrite", "00", "40"),
                             (3, "readwrite", "40", "80")], "split at the middle: %r" % split)
    split = client.split_shard(p, ls, 1, "c0000000000000000000000000000000")
    check(split.count == 3 and summary(split.get_shards_info())[1:] ==
          [(4, "readwrite", "80", "c0"), (5, "readwrite", "c0", "ff")], "split at a key")
    merged = client.merge_shard(p, ls, 2)
    check(merged.count == 3, "merge answers three shards")
    check(summary(merged.get_shards_info()) == [
        (6, "readwrite", "00", "80"), (2, "readonly", "00", "40"), (3, "readonly", "40", "80")],
        "merged shard first, then both parents: %r" % merged.get_shards_info())
    listed = client.list_shards(p, ls).get_shards_info()
    check([s["shardID"] for s in listed] == list(range(7)), "list_shards after the merge")
    check(sum(1 for s in listed if s["status"] == "readwrite") == 3, "three writable shards")
    fails_with("ParameterInvalid", lambda: client.merge_shard(p, ls, 5))
    fails_with("ParameterInvalid", lambda: client.merge_shard(p, ls, 0))
    return merged.get_shards_info()


def expire_and_pull(client, args):
    p, ls = args.project, args.logstore
    for i in range(3):
        items = [LogItem(contents=[("order_id", "py-%d" % i), ("book_name", "こころ")])]
        client.put_logs(PutLogsRequest(p, ls, topic="orders", logitems=items, hashKey=LEFT_HALF))
    old_begin = client.get_begin_cursor(p, ls, 6).get_cursor()
    expired = admin_expire(args.endpoint, {"project": p, "logstore": ls, "shard": 6,
                                           "log_groups": 2})
    check(expired == {"expired": {"6": 2}, "removed_shards": []}, "expire answer %r" % expired)
    res = client.pull_logs(p, ls, 6, old_begin, count=10)
    logs = res.get_flatten_logs_json(decode_bytes=True)
    check([log["order_id"] for log in logs] == ["py-2"], "pull after expiry: %r" % logs)
    begin = client.get_begin_cursor(p, ls, 6).get_cursor()
    check(begin != old_begin, "the begin cursor moved")
    # One before the begin is an expired offset: read as the begin, so no error to normalize.
    t = client.get_previous_cursor_time(p, ls, 6, begin).get_cursor_time()
    check(int(t) == int(client.get_cursor_time(p, ls, 6, begin).get_cursor_time()),
          "previous cursor time of the begin")
    return old_begin


def delete_and_recreate(client, args, old_cursor):
    p, ls = args.project, args.logstore
    client.delete_logstore(p, ls)
    fails_with("LogStoreNotExist", lambda: client.list_shards(p, ls))
    fails_with("LogStoreNotExist", lambda: client.delete_logstore(p, ls))
    client.create_logstore(p, ls, shard_count=8, auto_split=False)
    info = client.get_logstore(p, ls)
    check((info.get_ttl(), info.get_shard_count(), info.auto_split) == (30, 8, False),
          "recreated logstore's settings")
    check(len(client.list_shards(p, ls).get_shards_info()) == 8, "recreated with 8 shards")
    fails_with("InvalidCursor", lambda: client.pull_logs(p, ls, 6, old_cursor, count=10))
    check(client.get_begin_cursor(p, ls, 6).get_cursor() != old_cursor, "new cursors differ")


def main():
    parser = argparse.ArgumentParser()
    for name in ("--endpoint", "--project", "--logstore", "--access-key-id", "--access-key-secret"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    client = LogClient(args.endpoint, args.access_key_id, args.access_key_secret)
    # An IP endpoint with a scheme is not detected as one: send to the IP, project in Host.
    client._isRowIp = True
    merged = create_and_reshard(client, args)
    old_cursor = expire_and_pull(client, args)
    delete_and_recreate(client, args, old_cursor)
    print(json.dumps({"merged": merged, "old_cursor": old_cursor}))


if __name__ == "__main__":
    main()
