"""The soak driver of scripts/soak-sls.sh: runs two holo-host members of one consumer group
against a local sls-lite, feeds records in bursts and idle spells, injects fault spells
(a minute of 503 on every call but writes, a minute of 403 read quota, lost heartbeats,
slow pulls) and kills a member now and then; at the end checks that every record fed is in
the table exactly once and that no member stopped by itself. Prints a table of what happened.
Only loopback addresses are used."""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

from sls import SlsLite

SPELLS = ["burst", "idle", "busy", "quota", "heartbeat", "slow", "kill"]


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--sls", required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--holo-host", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--seed", type=int, default=int(time.time()))
    return p.parse_args()


class Soak:
    def __init__(self, args):
        self.args = args
        self.sls = SlsLite(args.sls, "soak", "events")
        self.members = {}
        self.unexpected = []
        self.rng = random.Random(args.seed)

    def start(self, name):
        spec = (f"sls://soak/events?endpoint=http://{self.args.sls}&consumer_group=soak"
                f"&consumer={name}&timeout=6&start=begin&columns=id,payload&meta=none")
        env = dict(os.environ, ALIBABA_CLOUD_ACCESS_KEY_ID="soak-key",
                   ALIBABA_CLOUD_ACCESS_KEY_SECRET="soak-secret",
                   ALIBABA_CLOUD_ECS_METADATA_DISABLED="true", RUST_LOG="warn")
        log = open(os.path.join(self.args.work, f"{name}.log"), "ab")
        self.members[name] = subprocess.Popen(
            [f"holo-soak-{name}", "run", "--source", spec, "--sink", self.args.dsn,
             "--table", "soak", "--batch-interval", "200ms", "--no-progress"],
            executable=self.args.holo_host, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def check_members(self):
        for name, p in self.members.items():
            if p.poll() is not None:
                self.unexpected.append(f"{name} exited by itself with {p.returncode}")
                self.start(name)

    def rows(self):
        out = subprocess.run(["psql", "-tAX", self.args.dsn, "-c",
                              "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0) FROM soak"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return tuple(int(x) for x in out.split("|"))

    def wait(self, seconds, feed_rate=0):
        end = time.time() + seconds
        while time.time() < end:
            if feed_rate:
                self.sls.feed(feed_rate)
            self.check_members()
            time.sleep(1)

    def spell(self, kind):
        if kind == "burst":
            self.wait(20, feed_rate=self.rng.choice([50, 200, 500]))
        elif kind == "idle":
            self.wait(self.rng.randint(20, 40))
        elif kind == "busy":
            for op in ["pull", "cursor", "list_shards", "heartbeat", "checkpoint", "consumer_group"]:
                self.sls.fault({"op": op, "error": "ServerBusy", "for": "60s"})
            self.wait(60, feed_rate=20)
        elif kind == "quota":
            self.sls.fault({"op": "pull", "error": "ReadQuotaExceed", "for": "60s"})
            self.wait(60, feed_rate=20)
        elif kind == "heartbeat":
            self.sls.fault({"op": "heartbeat", "error": "InternalServerError", "consumer": "member-a",
                        "for": "20s"})
            self.wait(30, feed_rate=50)
        elif kind == "slow":
            self.sls.fault({"op": "pull", "latency_ms": 3000, "for": "30s"})
            self.wait(30, feed_rate=50)
        elif kind == "kill":
            # Killed mid-stream and started again under the same name, after a pause.
            name = self.rng.choice(sorted(self.members))
            victim = self.members.pop(name)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            self.wait(self.rng.randint(2, 5), feed_rate=50)
            self.start(name)

    def run(self):
        for name in ["member-a", "member-b"]:
            self.start(name)
        deadline = time.time() + self.args.minutes * 60
        print(f"{'minute':>6}  {'spell':<9} {'fed':>8} {'in table':>8}")
        while time.time() < deadline:
            kind = self.rng.choice(SPELLS)
            self.spell(kind)
            rows = self.rows()[0]
            minute = (self.args.minutes * 60 - (deadline - time.time())) / 60
            print(f"{minute:6.1f}  {kind:<9} {self.sls.fed:8d} {rows:8d}", flush=True)
        drain_until = time.time() + 300
        while self.rows()[0] < self.sls.fed and time.time() < drain_until:
            self.check_members()
            time.sleep(1)
        count, distinct, top = self.rows()
        for p in self.members.values():
            p.send_signal(signal.SIGTERM)
        for p in self.members.values():
            p.wait(timeout=60)
        ok = count == distinct == top == self.sls.fed and not self.unexpected
        print(f"fed {self.sls.fed}, in the table {count} ({distinct} distinct, max id {top}); "
              f"members that stopped by themselves: {self.unexpected or 'none'}; seed {self.args.seed}")
        print("soak: passed" if ok else "soak: FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(Soak(parse()).run())
