"""The Log Service life-cycle part of scripts/soak.sh: records fed to a 2-shard sls-lite
logstore at a steady rate while one consumer-group member (start=end) is SIGKILLed after
1.5-4 s of each life, and the logstore changes shape under it:

  split/merge  during a life, two times in five: a writable shard is split in two (while
               fewer than 6 are writable) or two neighbours are merged (while more than 2 are).
  recreate     a third of the way through, while the member is down: the feed pauses, the
               table is dropped and created again, and a life starts on it. The new table
               has no position and the group's checkpoints are the old table's, so the job
               starts over as on its first start: from the end of every shard. Expected: the
               new table holds every record fed from then on, and none from before.
  ttl          two thirds of the way through, while the member is down: most log groups of
               the writable shard holding the most are expired (the TTL), some of them not yet
               read. Expected: the next life reports them ("the logstore's TTL removed N log
               groups", once per shard and saved cursor); each log group is one feed request
               of a known size, so exactly N × that many records are missing, and no others.

At the end a last life drains the logstore (--exit-when-idle): every record fed after the
recreate is in the table exactly once, except those the TTL removed, as reported. Only
loopback addresses are used."""

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request

from sls import SlsLite

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXPIRED = re.compile(r"TTL removed (\d+) log groups.*?stream=(\S+).*?cursor=(\S+)")


class Lifecycle:
    def __init__(self, soak, sls_addr):
        self.soak, self.rng = soak, soak.rng
        self.sls = SlsLite(sls_addr, "soak", "life")
        self.group_size = max(1, min(200, soak.args.rate // 10))
        self.reshapes = []

    def args(self, idle=None):
        spec = (f"sls://soak/life?endpoint=http://{self.sls.addr}&anonymous=true&consumer_group=life"
                f"&consumer=member&timeout=6&start=end&columns=id,payload&meta=none")
        extra = ["--exit-when-idle", idle] if idle else []
        return ["--source", spec, "--table", "soak_life", "--batch-interval", "200ms",
                "--batch-rows", "500", *extra]

    def shards(self):
        stats = json.loads(self.sls.request("GET", "/_admin/stats"))
        for ls in stats["logstores"]:
            if ls["logstore"] == "life":
                return ls["shards"]
        return []

    def reshape(self):
        """Splits or merges writable shards; returns what it did."""
        writable = [s["shard"] for s in self.shards() if s["status"] == "readwrite"]
        split = len(writable) <= 2 or (len(writable) < 6 and self.rng.random() < 0.5)
        for shard in self.rng.sample(writable, len(writable)):
            action = "split" if split else "merge"
            try:
                self.sls.request("POST", f"/logstores/life/shards/{shard}?action={action}")
            except urllib.error.HTTPError:
                continue  # the last shard has no neighbour to merge with
            self.reshapes.append(action)
            return f"{action} of shard {shard}; "
        return ""

    def start(self):
        return self.soak.holo_host("life", self.args())

    def wait_reading(self, since, proc, timeout=30):
        """Waits until the life started at log offset `since` has opened its shards."""
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            if "reading shard" in self.log_since(since):
                return
            time.sleep(0.1)

    def log_size(self):
        try:
            with open(f"{self.soak.args.work}/life.log", "rb") as f:
                return len(f.read())
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        with open(f"{self.soak.args.work}/life.log", "rb") as f:
            f.seek(offset)
            return ANSI.sub("", f.read().decode(errors="replace"))

    def recreate(self, feeding):
        """Drops and creates the table while the feed pauses; returns the ids fed before."""
        feeding.clear()
        # The new table's first start is at least a second after the last record fed
        # before it: positions keep the first start to the second (GetCursor by time).
        time.sleep(1.2)
        self.soak.db.run("DROP TABLE soak_life")
        self.soak.db.run("CREATE TABLE soak_life (id int8 NOT NULL, payload text NOT NULL)")
        return self.sls.fed

    def expire(self, since):
        """Expires all but the last log group of the writable shard holding the most, among
        those with a position committed for the new table (one without would start from
        the job's first start, and what the TTL removed of it could not be told)."""
        jobs = self.soak.db.scalar("SELECT string_agg(job, ' ') FROM holo_host.progress "
                                   f"WHERE updated_at > to_timestamp({since})") or ""
        placed = {int(m) for m in re.findall(r"sls://soak/life/(\d+) ", jobs + " ")}
        writable = [s for s in self.shards() if s["status"] == "readwrite" and s["shard"] in placed]
        if not writable:
            return "no shard to expire; "
        shard = max(writable, key=lambda s: s["log_groups"])
        keep = 1
        body = json.dumps({"logstore": "life", "shard": shard["shard"],
                           "log_groups": max(0, shard["log_groups"] - keep)}).encode()
        out = json.loads(self.sls.request("POST", "/_admin/expire", body))
        return f"TTL expired {sum(out['expired'].values())} log groups of shard {shard['shard']}; "

    def run(self):
        soak = self.soak
        soak.db.run("CREATE TABLE soak_life (id int8 NOT NULL, payload text NOT NULL)")
        feeding = threading.Event()
        stop = threading.Event()

        def feed():
            while not stop.is_set():
                if feeding.is_set():
                    self.sls.feed(self.group_size)
                time.sleep(0.1)

        feeder = threading.Thread(target=feed)
        feeder.start()
        kills = soak.args.kills
        recreate_at, ttl_at = max(1, kills // 3), max(2, 2 * kills // 3)
        fed_before, recreated = 0, time.time()
        try:
            for n in range(1, kills + 1):
                offset = self.log_size()
                proc = self.start()
                note = ""
                if n == 1 or n == recreate_at + 1:
                    # start=end: only what is fed once the shards are open counts.
                    self.wait_reading(offset, proc)
                    feeding.set()
                life = self.rng.uniform(1.5, 4)
                time.sleep(life / 2)
                if self.rng.random() < 0.4:
                    note += self.reshape()
                time.sleep(life / 2)
                if proc.poll() is not None:
                    soak.failures.append(f"life trial {n}: holo-host stopped by itself with "
                                         f"{proc.returncode}:\n{soak.log_tail('life')}")
                    soak.trial("life", n, 1, f"stopped by itself (exit {proc.returncode})",
                               soak.count("soak_life"), note)
                    continue
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if n == recreate_at:
                    fed_before = self.recreate(feeding)
                    recreated = time.time()
                    note += f"table dropped and created again after id {fed_before}; "
                if n == ttl_at:
                    note += self.expire(recreated)
                soak.trial("life", n, 1, f"SIGKILL after {life:.1f} s, {self.sls.fed} fed",
                           soak.count("soak_life"), note.rstrip("; "))
        finally:
            stop.set()
            feeder.join()
        self.last(kills, fed_before)

    def last(self, kills, fed_before):
        soak = self.soak
        code = soak.finish(soak.holo_host("life", self.args(idle="3s")), 180)
        count, distinct, low = (int(x) for x in soak.db.scalar(
            "SELECT count(*), count(DISTINCT id), coalesce(min(id), 0) FROM soak_life").split("|"))
        # Each gap once, whatever number of lives reported it before committing past it.
        reported = {}
        for groups, stream, cursor in EXPIRED.findall(self.log_since(0)):
            reported[(stream, cursor)] = int(groups)
        lost = sum(reported.values()) * self.group_size
        expected = self.sls.fed - fed_before
        soak.trial("life", kills + 1, 1, f"last run, drained (exit {code})", count,
                   f"{len(self.reshapes)} splits/merges; {lost} records lost to the TTL, reported")
        print(f"life: fed {expected} after the recreate; in the table {count} ({distinct} distinct, "
              f"lowest id {low}); reported lost to the TTL: {lost}")
        soak.summary["lifecycle"] = {
            "fed_after_recreate": expected, "rows": count, "distinct": distinct,
            "splits": self.reshapes.count("split"), "merges": self.reshapes.count("merge"),
            "ttl_lost_reported": lost, **soak.tally("life")}
        if code != 0 or count != distinct or low <= fed_before or count + lost != expected:
            soak.failures.append("life: not every record fed after the recreate exactly once, "
                                 f"less those reported lost to the TTL:\n{soak.log_tail('life')}")
