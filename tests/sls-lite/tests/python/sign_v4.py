"""Signs requests to sls-lite with the official Python SDK (aliyun-log-python-sdk), unchanged:
signature v4 (`auth_version='v4'`, a region) and v1, with STS credentials (a security token).

Run by tests/it/sign_v4.rs. Puts logs with v4 and reads them back, reads with v1 too, then
checks the refusals: a wrong secret (SignatureNotMatch), a wrong token and an expired key
(both 401 Unauthorized, as the service answers them). Prints one JSON line; exits non-zero on the first
mismatch.
"""

import argparse
import json
import sys
import time

from aliyun.log import LogClient, LogException, LogItem, PutLogsRequest


def check(cond, what):
    if not cond:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)


def client(args, key_id, secret, token, version):
    c = LogClient(args.endpoint, key_id, secret, securityToken=token,
                  auth_version=version, region=args.region)
    # An IP endpoint with a scheme is not detected as one: send to the IP, project in Host.
    c._isRowIp = True
    return c


def refusal(c, args):
    try:
        c.list_shards(args.project, args.logstore)
    except LogException as e:
        return e.get_error_code()
    return None


def main():
    parser = argparse.ArgumentParser()
    for name in ("--endpoint", "--project", "--logstore", "--region", "--key", "--expired-key"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    key_id, secret, token = args.key.split(":")
    old_id, old_secret, old_token = args.expired_key.split(":")

    v4 = client(args, key_id, secret, token, "v4")
    shards = v4.list_shards(args.project, args.logstore).get_shards_info()
    check(len(shards) > 0, "list_shards with v4")
    started = int(time.time())
    items = [LogItem(timestamp=started, contents=[("n", str(i)), ("signed", "v4")]) for i in range(5)]
    v4.put_logs(PutLogsRequest(args.project, args.logstore, topic="v4", logitems=items))
    pulled = 0
    for shard in shards:
        sid = shard["shardID"]
        cursor = v4.get_cursor(args.project, args.logstore, sid, "begin").get_cursor()
        res = v4.pull_logs(args.project, args.logstore, sid, cursor, count=100)
        pulled += len(res.get_flatten_logs_json(decode_bytes=True))
    check(pulled == 5, "pulled %d logs with v4, put 5" % pulled)

    v1 = client(args, key_id, secret, token, "v1")
    check(len(v1.list_shards(args.project, args.logstore).get_shards_info()) == len(shards),
          "list_shards with v1 and the same STS key")

    codes = {
        "wrong_secret": refusal(client(args, key_id, secret + "x", token, "v4"), args),
        "wrong_token": refusal(client(args, key_id, secret, token + "x", "v4"), args),
        "expired_v4": refusal(client(args, old_id, old_secret, old_token, "v4"), args),
        "expired_v1": refusal(client(args, old_id, old_secret, old_token, "v1"), args),
    }
    print(json.dumps({"pulled": pulled, "codes": codes}))


if __name__ == "__main__":
    main()
