"""The driver of scripts/soak.sh: SIGKILLs holo-host at random moments of a CSV load, of a
Log Service stream and of a load into Hologres (as hologres-lite imitates it, see
hologres.py), restarting it each time, with PostgreSQL restarts, Log Service fault spells
and Hologres failovers thrown in at random; at the end every record must be in the table
exactly once.

  csv     a seed file loaded into a table without a key (a duplicate would show), 2 writers
          or 1 by turns. Kill i falls once the table holds a random share of the rows (the
          shares drawn up front and sorted, so the kills spread over the whole load), plus
          0-100 ms so that it lands inside a batch as often as between two. The result must
          equal an uninterrupted load of the same file into another table, row for row.
  stream  records fed to a 4-shard sls-lite at a steady rate while one consumer is killed
          after 1-4 s of each life; at the end a last run drains the logstore
          (--exit-when-idle) and ids 1..fed must each be in the table once.
  lifecycle  the same on a logstore whose shards are split and merged under it, whose table
          is dropped and created again, and whose TTL removes data not yet read (see
          lifecycle.py for what is expected of each).

Prints a table of trials, and writes it as JSON for the Soak section of docs/testing.md. Only
loopback addresses are used."""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from hologres import Hologres
from lifecycle import Lifecycle
from sls import SlsLite


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--holo-host", required=True)
    p.add_argument("--dsn", required=True)
    p.add_argument("--pg-stop", required=True, help="shell command that stops PostgreSQL at once")
    p.add_argument("--pg-start", required=True, help="shell command that starts it again")
    p.add_argument("--work", required=True)
    p.add_argument("--csv", required=True, help="the file to load")
    p.add_argument("--enrich", nargs=2, metavar=("WASM", "BOOKS"), required=True,
                   help="enrich.wasm and the books CSV it looks names up in")
    p.add_argument("--sls", required=True)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--rate", type=int, default=2000, help="records a second fed to the stream")
    p.add_argument("--sls-life", help="the anonymous sls-lite of the lifecycle part")
    p.add_argument("--parts", default="csv,stream,lifecycle,hologres",
                   help="which parts to run: csv, stream, lifecycle, hologres, comma-separated")
    p.add_argument("--hologres", help="DSN of a hologres-lite in front of the same PostgreSQL")
    p.add_argument("--json", required=True)
    p.add_argument("--seed", type=int, default=int(time.time()))
    return p.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def written(port):
    """Rows the holo-host serving metrics on `port` has committed so far (0 before it
    serves them)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("holo_host_records_written_total "):
                    return int(float(line.split()[1]))
    except OSError:
        pass
    return 0


class Database:
    def __init__(self, args):
        self.args = args

    def scalar(self, sql):
        """One value, or None while the server is down."""
        out = subprocess.run(["psql", "-tAX", self.args.dsn, "-c", sql], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    def run(self, sql):
        subprocess.run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", self.args.dsn, "-c", sql], check=True,
                       stdout=subprocess.DEVNULL)

    def restart(self, down):
        """Stops the server at once (no shutdown checkpoint: a crash), keeps it down for `down`
        seconds and starts it again."""
        subprocess.run(self.args.pg_stop, shell=True, check=True, stdout=subprocess.DEVNULL)
        time.sleep(down)
        subprocess.run(self.args.pg_start, shell=True, check=True, stdout=subprocess.DEVNULL)


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.db = Database(args)
        self.trials = []
        self.failures = []

    def holo_host(self, name, run_args, env=None, dsn=None):
        """Starts one life of holo-host, writing to `dsn` (PostgreSQL's by default); its log
        is appended to WORK/NAME.log."""
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), **(env or {}))
        with open(os.path.join(self.args.work, f"{name}.log"), "ab") as log:
            return subprocess.Popen([self.args.holo_host, "run", *run_args, "--sink", dsn or self.args.dsn,
                                     "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=log)

    @staticmethod
    def finish(proc, timeout):
        """The exit code of a last run that drains its source, or "timeout" (then killed)."""
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return "timeout"

    def log_tail(self, name):
        with open(os.path.join(self.args.work, f"{name}.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def trial(self, part, n, writers, event, rows, note=""):
        row = {"part": part, "trial": n, "writers": writers, "event": event, "rows": rows, "note": note}
        self.trials.append(row)
        print(f"{part:<7} {n:>5}  {writers:>7}  {event:<44} {rows:>9}  {note}", flush=True)

    def tally(self, part):
        """What one part's trials went through."""
        trials = [t for t in self.trials if t["part"] == part]
        return {"kills": sum(t["event"].startswith("SIGKILL") for t in trials),
                "pg_restarts": sum("PostgreSQL" in t["note"] for t in trials),
                "fault_spells": sum(" for " in t["note"] for t in trials)}

    def maybe_restart_postgres(self):
        """One life in four also sees PostgreSQL crash and come back; returns what happened."""
        if self.rng.random() >= 0.25:
            return ""
        down = round(self.rng.uniform(0.5, 3.0), 1)
        self.db.restart(down)
        return f"PostgreSQL down {down} s; "

    # --- the CSV load ---------------------------------------------------------------------

    def csv_args(self, table, writers, dead_letter):
        wasm, books = self.args.enrich
        return ["--source", f"csv:{self.args.csv}", "--transform", wasm, "--set", "lookup=books",
                "--set", "key=book_id", "--set", "columns=name:book_name",
                "--lookup", f"books=csv:{books}?columns=id,name", "--table", table,
                "--writers", str(writers), "--dead-letter", dead_letter,
                # A stream's batch size, not a file's: more commits for the kills to fall between.
                "--batch-rows", "4096"]

    def count(self, table):
        v = self.db.scalar(f"SELECT count(*) FROM {table}")
        return int(v) if v else None

    def csv(self):
        for table in ["soak_reference", "soak_orders"]:
            self.db.run(f"CREATE TABLE {table} (order_id text NOT NULL, user_id int8 NOT NULL, "
                        "book_id int8 NOT NULL, book_name text NOT NULL, order_cnt int8 NOT NULL, "
                        "order_amt int8 NOT NULL)")
        started = time.time()
        ref = self.holo_host("csv-reference", self.csv_args("soak_reference", 2, f"{self.args.work}/ref.dl"))
        if ref.wait() != 0:
            self.failures.append(f"the uninterrupted load failed:\n{self.log_tail('csv-reference')}")
            return
        expected = self.count("soak_reference")
        print(f"csv: an uninterrupted load wrote {expected} rows in {time.time() - started:.1f} s")
        shares = sorted(self.rng.uniform(0.02, 0.9) for _ in range(self.args.kills))
        dead_letter = f"{self.args.work}/soak.dl"
        for n, share in enumerate(shares, 1):
            writers = self.rng.choice([1, 2])
            before = self.count("soak_orders")
            port = free_port()
            proc = self.holo_host("csv", self.csv_args("soak_orders", writers, dead_letter)
                                  + ["--metrics-addr", f"127.0.0.1:{port}"])
            # Progress is read from the process's own metrics, every 20 ms: counting the
            # table under load would take longer than the batches the kill aims between.
            target = int(share * expected)
            while proc.poll() is None and before + written(port) < target:
                time.sleep(0.02)
            note = self.maybe_restart_postgres() if proc.poll() is None else ""
            if note:
                # The load must carry on over the crash: wait for one more commit.
                target = written(port) + 1
                while proc.poll() is None and written(port) < target:
                    time.sleep(0.02)
            time.sleep(self.rng.uniform(0, 0.1))
            if proc.poll() is not None:
                # Finished before the kill: only right if every row is there.
                rows = self.count("soak_orders")
                self.trial("csv", n, writers, f"ended by itself (exit {proc.returncode})", rows, note)
                if proc.returncode != 0 or rows != expected:
                    self.failures.append(f"csv trial {n}: exit {proc.returncode} with {rows} rows:\n"
                                         f"{self.log_tail('csv')}")
                continue
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            rows = self.count("soak_orders")
            self.trial("csv", n, writers, f"SIGKILL at {100 * rows / expected:.1f} %", rows,
                       note + f"aimed at {100 * share:.1f} %")
        last = self.holo_host("csv", self.csv_args("soak_orders", 2, dead_letter))
        code = last.wait()
        rows = self.count("soak_orders")
        self.trial("csv", len(shares) + 1, 2, f"last run, to the end (exit {code})", rows)
        missing = self.db.scalar("SELECT count(*) FROM (SELECT * FROM soak_reference EXCEPT ALL "
                                 "SELECT * FROM soak_orders) d")
        extra = self.db.scalar("SELECT count(*) FROM (SELECT * FROM soak_orders EXCEPT ALL "
                               "SELECT * FROM soak_reference) d")
        dead = self.dead_letters(dead_letter)
        ref_dead = self.dead_letters(f"{self.args.work}/ref.dl")
        print(f"csv: {rows} rows against {expected} uninterrupted; {missing} missing, {extra} extra; "
              f"dead letters: {len(ref_dead)} uninterrupted, {len(dead)} distinct after the kills")
        self.summary["csv"] = {"rows": expected, **self.tally("csv"), "missing": int(missing),
                               "extra": int(extra), "dead_letters": len(ref_dead)}
        if code != 0 or rows != expected or missing != "0" or extra != "0":
            self.failures.append(f"csv: the table differs from the uninterrupted load:\n{self.log_tail('csv')}")
        if dead != ref_dead:
            # A record dead-lettered before a kill may be dead-lettered again after it (the file
            # is appended to, not part of the transaction): at least once, never lost.
            self.failures.append(f"csv: dead letters {sorted(dead)} differ from {sorted(ref_dead)}")

    @staticmethod
    def dead_letters(path):
        """The distinct records dead-lettered (where each came from, and why), from a JSON-lines file."""
        seen = set()
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                d = json.loads(line)
                seen.add((d["source"], d["line"], d["stage"], d["reason"]))
        return seen

    # --- the stream -----------------------------------------------------------------------

    def stream_args(self, writers, idle=None):
        spec = (f"sls://soak/events?endpoint=http://{self.args.sls}&consumer_group=kill"
                f"&consumer=member&timeout=6&start=begin&columns=id,payload&meta=none")
        extra = ["--exit-when-idle", idle] if idle else []
        return ["--source", spec, "--table", "soak_events", "--writers", str(writers),
                "--batch-interval", "200ms", *extra]

    def stream(self):
        self.db.run("CREATE TABLE soak_events (id int8 NOT NULL, payload text NOT NULL)")
        sls = SlsLite(self.args.sls, "soak", "events")
        env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "soak-key", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "soak-secret",
               "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
        feeding = threading.Event()
        feeding.set()

        def feed():
            while feeding.is_set():
                sls.feed(self.args.rate // 10)
                time.sleep(0.1)

        feeder = threading.Thread(target=feed)
        feeder.start()
        try:
            for n in range(1, self.args.kills + 1):
                writers = self.rng.choice([1, 2])
                proc = self.holo_host("stream", self.stream_args(writers), env)
                life = self.rng.uniform(1, 4)
                note = ""
                if self.rng.random() < 0.3:
                    spell = self.rng.choice(["ServerBusy", "ReadQuotaExceed", "InternalServerError"])
                    op = self.rng.choice(["pull", "heartbeat", "checkpoint"])
                    seconds = round(self.rng.uniform(1, 5), 1)
                    sls.fault({"op": op, "error": spell, "for": f"{seconds}s"})
                    note += f"{op} {spell} for {seconds} s; "
                time.sleep(life / 2)
                note += self.maybe_restart_postgres()
                time.sleep(life / 2)
                if proc.poll() is not None:
                    self.failures.append(f"stream trial {n}: holo-host stopped by itself with {proc.returncode}:\n"
                                         f"{self.log_tail('stream')}")
                    self.trial("stream", n, writers, f"stopped by itself (exit {proc.returncode})",
                               self.count("soak_events"), note)
                    continue
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                self.trial("stream", n, writers, f"SIGKILL after {life:.1f} s, {sls.fed} fed",
                           self.count("soak_events"), note.rstrip("; "))
                time.sleep(self.rng.uniform(0, 1))
        finally:
            feeding.clear()
            feeder.join()
        code = self.finish(self.holo_host("stream", self.stream_args(2, idle="3s"), env), 120)
        count, distinct, top = (int(x) for x in self.db.scalar(
            "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0) FROM soak_events").split("|"))
        self.trial("stream", self.args.kills + 1, 2, f"last run, drained (exit {code})", count)
        print(f"stream: fed {sls.fed}; in the table {count} ({distinct} distinct, max id {top})")
        self.summary["stream"] = {"fed": sls.fed, "rows": count, "distinct": distinct, **self.tally("stream")}
        if code != 0 or not count == distinct == top == sls.fed:
            self.failures.append(f"stream: not every record exactly once:\n{self.log_tail('stream')}")

    def run(self):
        self.summary = {"seed": self.args.seed}
        print(f"{'part':<7} {'trial':>5}  {'writers':>7}  {'event':<44} {'rows':>9}  note")
        parts = self.args.parts.split(",")
        if "csv" in parts:
            self.csv()
        if "stream" in parts:
            self.stream()
        if "lifecycle" in parts:
            Lifecycle(self, self.args.sls_life).run()
        if "hologres" in parts:
            Hologres(self, self.args.hologres).run()
        self.summary.update(trials=self.trials, failures=self.failures)
        with open(self.args.json, "w") as f:
            json.dump(self.summary, f, indent=1)
        for failure in self.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        print(f"soak: {'passed' if not self.failures else 'FAILED'} (seed {self.args.seed})")
        return 0 if not self.failures else 1


if __name__ == "__main__":
    sys.exit(Soak(parse()).run())
