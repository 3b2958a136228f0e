"""The Hologres part of scripts/soak.sh: the seed file loaded through hologres-lite (a proxy
that makes the throwaway PostgreSQL answer as Hologres does), SIGKILLed at random moments,
with failover spells (every connection closed, every statement refused for 1-4 s) and
replies lost after their rows landed, thrown in at random.

  keyed    a table with a primary key, insert-or-update, 1 or 2 writers; every third life
           (the 2nd, 5th, …) runs two processes on the same job at once: a process may end
           before its kill only fenced off by the other. At the end the table must equal an
           uninterrupted load into PostgreSQL: every row once, none missing, no other values.
  keyless  a table without one: refused unless --at-least-once; with it, the same kills and
           lost replies, and the duplicates that follow are counted (what the refusal is for).

Only loopback addresses are used."""

import os
import signal
import subprocess
import time


class Hologres:
    def __init__(self, soak, dsn):
        self.soak, self.dsn = soak, dsn
        self.rng = soak.rng

    def psql(self, sql, dsn=None):
        out = subprocess.run(["psql", "-tAX", dsn or self.dsn, "-c", sql], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    def count(self, table):
        """Rows in `table`, asked again while a failover spell refuses connections."""
        for _ in range(100):
            n = self.psql(f"SELECT count(*) FROM {table}")
            if n is not None:
                return int(n)
            time.sleep(0.1)
        return None

    def log_size(self, name):
        path = os.path.join(self.soak.args.work, f"{name}.log")
        return os.path.getsize(path) if os.path.exists(path) else 0

    def log_since(self, name, offset):
        """What life `name` logged from `offset` on."""
        with open(os.path.join(self.soak.args.work, f"{name}.log"), "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def admin(self, statement):
        """A fault through hologres-lite's own statement, on a connection of its own."""
        subprocess.run(["psql", "-qX", self.dsn, "-c", f"HOLOGRES_LITE {statement}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def digest(self, table, dsn=None):
        """Rows, distinct keys and a digest of every row, to compare two servers' tables."""
        return self.psql(f"SELECT count(*), count(DISTINCT order_id), md5(coalesce(string_agg("
                         f"concat_ws(',', order_id, user_id, book_id, book_name, order_cnt, order_amt), "
                         f"';' ORDER BY order_id), '')) FROM {table}", dsn)

    def args(self, table, writers, extra=(), mode="insert-or-update"):
        return [*self.soak.csv_args(table, writers, f"{self.soak.args.work}/hologres.dl"),
                "--mode", mode, *extra]

    def start(self, name, table, writers, extra=(), mode="insert-or-update"):
        return self.soak.holo_host(name, self.args(table, writers, extra, mode), dsn=self.dsn)

    def fault(self, table):
        """One life in three sees a failover spell, one in four a reply lost after its rows
        landed; returns what happened."""
        note = ""
        if self.rng.random() < 1 / 3:
            spell = self.rng.randint(1, 4)
            self.admin(f"FAILOVER {spell}")
            note += f"failover {spell} s; "
        if self.rng.random() < 1 / 4:
            self.admin(f"LOSE REPLY NEXT 1 MATCHING '{table}'")
            note += "a reply lost; "
        return note

    def keyed(self, expected_digest, rows):
        table = "soak_hg_keyed"
        self.psql(f"CREATE TABLE {table} (order_id text PRIMARY KEY, user_id int8 NOT NULL, "
                  "book_id int8 NOT NULL, book_name text NOT NULL, order_cnt int8 NOT NULL, "
                  "order_amt int8 NOT NULL)")
        shares = sorted(self.rng.uniform(0.02, 0.9) for _ in range(self.soak.args.kills))
        fenced = pairs = 0
        for n, share in enumerate(shares, 1):
            writers = self.rng.choice([1, 2])
            twin = n % 3 == 2
            names = ["hologres", "hologres-twin"] if twin else ["hologres"]
            offsets = [self.log_size(name) for name in names]
            procs = [self.start(name, table, writers) for name in names]
            pairs += twin
            note = self.fault(table)
            target = int(share * rows)
            while any(p.poll() is None for p in procs) and (self.count(table) or 0) < target:
                time.sleep(0.05)
            time.sleep(self.rng.uniform(0, 0.1))
            codes = []
            for p, name, offset in zip(procs, names, offsets):
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    p.wait()
                    codes.append("SIGKILL")
                    continue
                # A life may end before its kill only done, or fenced off by the other one.
                log = self.log_since(name, offset)
                if p.returncode == 0:
                    codes.append("finished")
                elif "moved by another writer" in log:
                    fenced += 1
                    codes.append("fenced")
                else:
                    codes.append(f"exit {p.returncode}")
                    self.soak.failures.append(f"hologres keyed trial {n}: {name} ended by itself "
                                              f"(exit {p.returncode}):\n{log[-2000:]}")
            got = self.count(table)
            self.soak.trial("hg-key", n, writers, ("two processes: " if twin else "") + ", ".join(codes),
                            got, note + f"aimed at {100 * share:.1f} %")
        last = self.start("hologres", table, 2)
        code = last.wait()
        digest = self.digest(table)
        self.soak.trial("hg-key", len(shares) + 1, 2, f"last run, to the end (exit {code})",
                        int(digest.split("|")[0]))
        print(f"hologres keyed: {digest} against {expected_digest} uninterrupted on PostgreSQL; "
              f"{pairs} lives with two processes, {fenced} processes stopped fenced")
        self.soak.summary["hologres_keyed"] = {"rows": rows, **self.soak.tally("hg-key"),
                                               "two_processes": pairs, "fenced": fenced,
                                               "equal": digest == expected_digest}
        if code != 0 or digest != expected_digest:
            self.soak.failures.append(f"hologres keyed: the table differs from the uninterrupted load:\n"
                                      f"{self.soak.log_tail('hologres')}")

    def keyless(self, rows):
        table = "soak_hg_keyless"
        self.psql(f"CREATE TABLE {table} (order_id text, user_id int8, book_id int8, book_name text, "
                  "order_cnt int8, order_amt int8)")
        refused = self.start("hologres-keyless", table, 1, mode="insert")
        code = refused.wait()
        said = "--at-least-once" in self.soak.log_tail("hologres-keyless")
        self.soak.trial("hg-nokey", 0, 1, f"without --at-least-once: exit {code}", 0,
                        "refused, naming --at-least-once" if said else "")
        if code == 0 or not said:
            self.soak.failures.append("hologres keyless: a table without a key was not refused")
        kills = max(2, self.soak.args.kills // 2)
        for n in range(1, kills + 1):
            proc = self.start("hologres-keyless", table, 1, ["--at-least-once"], mode="insert")
            note = self.fault(table)
            time.sleep(self.rng.uniform(0.5, 2.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            self.soak.trial("hg-nokey", n, 1, "SIGKILL", self.count(table), note.rstrip("; "))
        last = self.start("hologres-keyless", table, 1, ["--at-least-once"], mode="insert")
        code = last.wait()
        count, distinct = (int(x) for x in self.psql(
            f"SELECT count(*), count(DISTINCT order_id) FROM {table}").split("|"))
        print(f"hologres keyless (--at-least-once): {count} rows, {distinct} distinct of {rows}: "
              f"{count - distinct} duplicates")
        self.soak.summary["hologres_keyless"] = {"rows": rows, "in_table": count, "distinct": distinct,
                                                 "duplicates": count - distinct, "refused_without_flag": said}
        if code != 0 or distinct != rows:
            self.soak.failures.append(f"hologres keyless: rows lost ({distinct} of {rows}):\n"
                                      f"{self.soak.log_tail('hologres-keyless')}")

    def run(self):
        reference = "soak_hg_reference"
        self.soak.db.run(f"CREATE TABLE {reference} (order_id text PRIMARY KEY, user_id int8 NOT NULL, "
                         "book_id int8 NOT NULL, book_name text NOT NULL, order_cnt int8 NOT NULL, "
                         "order_amt int8 NOT NULL)")
        ref = self.soak.holo_host("hologres-reference",
                                  [*self.soak.csv_args(reference, 2, f"{self.soak.args.work}/hgref.dl"),
                                   "--mode", "insert-or-update"])
        if ref.wait() != 0:
            self.soak.failures.append(f"hologres: the uninterrupted load failed:\n"
                                      f"{self.soak.log_tail('hologres-reference')}")
            return
        expected = self.digest(reference, self.soak.args.dsn)
        rows = int(expected.split("|")[0])
        self.keyed(expected, rows)
        self.keyless(rows)
