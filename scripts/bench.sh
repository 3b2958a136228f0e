#!/usr/bin/env bash
# The benchmark suite: holo-host side by side with its anchors, in one run on this machine,
# reported as ratios. Writes target/bench/results.json, results.md (the table
# docs/performance.md embeds between its bench markers; --docs, or its older name --readme,
# rewrites them) and PNG plots.
#
#   scripts/bench.sh [--rows N] [--writers N] [--backlog N] [--rounds N] [--quick] [--docs]
#   scripts/bench.sh --smoke     (the test command's short run: debug build, tiny sizes,
#                                 into target/bench-smoke; checks the suite runs, not speed)
#
#   batch      1M seed orders (CSV) → enrich.wasm → `book_order` (text primary key):
#              psql \copy with 1 and N connections (the reference: N connections), pgloader
#              and Spark's JDBC append when installed (skipped with a note otherwise),
#              holo-host with 1 and N writers; the median of --rounds alternating rounds
#   scaling    the same at 100k, 300k and all rows: throughput against rows (plot)
#   transform  the enrich stage alone, to stdout, in Rust, Python and JavaScript
#   stream     a backlog drained from a 4-shard sls-lite: throughput and resident memory;
#              then 10k records/s for 20 s: put-to-visible latency (plot); the requests an
#              idle shard costs, holo-host beside the official Python consumer library; and
#              one shard drained with 150 ms added to every pull: MB/s, against the 5 MB/s a
#              shard takes in writes
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ROWS=1000000 WRITERS=2 BACKLOG=1000000 ROUNDS=3 RATE=10000 SECONDS_PACED=20 IDLE_SECONDS=30 SLOW=300000 DOCS=
PROFILE=release OUT="$TARGET_DIR/bench"
while [ $# -gt 0 ]; do
    case $1 in
        --rows) ROWS=$2; shift 2 ;;
        --writers) WRITERS=$2; shift 2 ;;
        --backlog) BACKLOG=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --quick) ROWS=100000 BACKLOG=50000 ROUNDS=1 SECONDS_PACED=5 IDLE_SECONDS=10 SLOW=50000; shift ;;
        --smoke) ROWS=20000 BACKLOG=5000 ROUNDS=1 RATE=1000 SECONDS_PACED=2 IDLE_SECONDS=3 SLOW=5000 PROFILE=dev
                 OUT="$TARGET_DIR/bench-smoke"; shift ;;
        --docs|--readme) DOCS=1; shift ;;
        *) echo "usage: $0 [--rows N] [--writers N] [--backlog N] [--rounds N] [--quick|--smoke] [--docs]" >&2; exit 2 ;;
    esac
done

build_tools "$PROFILE"
mkdir -p "$OUT"
# The ported transforms need their toolchains; without them that row is skipped.
PORTS=1
build_ported_guests || PORTS=

# matplotlib for the plots, in a venv of its own.
PLOT_VENV="$TARGET_DIR/py-bench"
if ! "$PLOT_VENV/bin/python" -c "import matplotlib" 2>/dev/null; then
    say "installing matplotlib into $PLOT_VENV"
    { python3 -m venv "$PLOT_VENV" && "$PLOT_VENV/bin/pip" install --quiet --disable-pip-version-check matplotlib; } \
        || say "matplotlib could not be installed: the report will have no plots"
fi
PY="$PLOT_VENV/bin/python"; [ -x "$PY" ] || PY=python3

WORK=$(mktemp -d /tmp/holo-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_throwaway_postgres "$WORK"
    rm -rf "$WORK"
}
trap cleanup EXIT
start_throwaway_postgres "$WORK"
psql_() { psql -q -X -v ON_ERROR_STOP=1 "$DSN" "$@"; }
FACTS="$WORK/facts"
: > "$FACTS"
fact() { echo "$*" >> "$FACTS"; }
# Watches holo-host PID until it ends by itself (the caller then waits for it), sampling its
# resident memory into RSS_FILE; prints the seconds from START until TABLE held N rows
# (nothing if it never did).
wait_drained() {
    local pid=$1 table=$2 n=$3 start=$4 rss=$5 drained=
    : > "$rss"
    while kill -0 "$pid" 2>/dev/null; do
        awk '/VmRSS/ {print $2}' "/proc/$pid/status" >> "$rss" 2>/dev/null || true
        if [ -z "$drained" ] && [ "$(psql -tA -X "$DSN" -c "SELECT count(*) FROM $table")" = "$n" ]; then
            drained=$(elapsed "$start")
        fi
        sleep 0.1
    done
    echo "$drained"
}
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }

say "generating $ROWS seed orders"
"$BIN/holo-seed" orders "$ROWS" > "$WORK/orders.csv"
"$BIN/holo-seed" books > "$WORK/books.csv"
# N parts of the same rows, one header each, for the N-connection anchors.
head -1 "$WORK/orders.csv" > "$WORK/header"
tail -n +2 "$WORK/orders.csv" > "$WORK/body"
split -n "l/$WRITERS" -d "$WORK/body" "$WORK/part."
for p in "$WORK"/part.[0-9]*; do cat "$WORK/header" "$p" > "$p.csv"; rm "$p"; done

psql_ -c "CREATE TABLE book_order (order_id text NOT NULL, user_id int8 NOT NULL, book_id int8 NOT NULL,
  book_name text NOT NULL, order_cnt int8 NOT NULL, order_amt int8 NOT NULL, PRIMARY KEY (order_id))"
reset() {
    psql_ -c "TRUNCATE book_order"
    psql_ -c "DELETE FROM holo_host.progress" 2>/dev/null || true
    psql_ -c "CHECKPOINT"
}
check_rows() {
    local n
    n=$(psql -tA -X "$DSN" -c "SELECT count(*) FROM book_order")
    [ "$n" = "$1" ] || { echo "expected $1 rows in book_order, found $n ($2)" >&2; exit 1; }
}
ENRICH=(--transform "$GUEST_DIR/enrich.wasm" --set lookup=books --set key=book_id
        --set columns=name:book_name --lookup "books=csv:$WORK/books.csv?columns=id,name")
holo_load() { # FILE ROWS WRITERS
    "$BIN/holo-host" run --source "csv:$1" "${ENRICH[@]}" --sink "$DSN" --table public.book_order \
        --writers "$3" --from-scratch --no-progress 2>/dev/null
}
psql_load() { # ROWS CONNECTIONS: the first ROWS rows split over CONNECTIONS \copy
    local files=() i
    if [ "$2" = 1 ]; then files=("$WORK/orders.csv"); else files=("$WORK"/part.*.csv); fi
    for f in "${files[@]}"; do
        psql -q -X "$DSN" -c "\\copy book_order FROM '$f' CSV HEADER" &
    done
    wait
}
# Sets CPU to the CPU seconds (user + system) of this shell's children that have ended: the
# loaders. Not in a $(…) subshell, whose own children start from nothing.
children_cpu() {
    times > "$WORK/times"
    CPU=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.2f", t }' "$WORK/times")
}
# CPU seconds of the PostgreSQL server so far: the postmaster, the backends it reaped and
# the processes still running (/proc, in clock ticks).
server_cpu() {
    local pm c; pm=$(head -1 "$WORK/pg/postmaster.pid")
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      for c in $(pgrep -P "$pm" 2>/dev/null || true); do awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null; done
    } | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.2f", t / hz }'
}
timed() { # NAME ROWS COMMAND…: one measurement of a load of ROWS rows: seconds, then the
    # CPU seconds of the client (psql or holo-host) and of the server
    local name=$1 rows=$2 start c0 s0; shift 2
    reset
    s0=$(server_cpu); children_cpu; c0=$CPU; start=$(now)
    "$@"
    children_cpu
    local s; s=$(elapsed "$start")
    local client; client=$(echo "$CPU - $c0" | bc)
    local server; server=$(echo "$(server_cpu) - $s0" | bc)
    check_rows "$rows" "$name"
    fact batch "$name" "$s" "$client" "$server"
    say "$name: $s s (CPU: client $client s, server $server s)"
}

say "batch: $ROUNDS round(s), alternating"
for _ in $(seq "$ROUNDS"); do
    timed "psql \\copy, 1 connection" "$ROWS" psql_load "$ROWS" 1
    timed "psql \\copy, $WRITERS connections" "$ROWS" psql_load "$ROWS" "$WRITERS"
    timed "holo-host, 1 writer" "$ROWS" holo_load "$WORK/orders.csv" "$ROWS" 1
    timed "holo-host, --writers $WRITERS" "$ROWS" holo_load "$WORK/orders.csv" "$ROWS" "$WRITERS"
done
pgloader_load() {
    pgloader --type csv --field "order_id,user_id,book_id,book_name,order_cnt,order_amt" \
        --with "skip header = 1" --with "fields terminated by ','" \
        "$WORK/orders.csv" "$DSN?tablename=book_order" >/dev/null 2>&1
}
if command -v pgloader >/dev/null; then
    timed "pgloader" "$ROWS" pgloader_load
else
    fact skipped "pgloader" "not installed (apt-get install pgloader)"
fi
if command -v spark-submit >/dev/null; then
    fact skipped "Spark JDBC append (seed 000)" "spark-submit found, but the job's jar is not part of this repository"
else
    fact skipped "Spark JDBC append (seed 000)" "Spark is not installed"
fi

say "scaling: throughput against rows"
for n in $((ROWS / 10)) $((ROWS * 3 / 10)) "$ROWS"; do
    [ "$n" -le "$ROWS" ] || continue
    head -n $((n + 1)) "$WORK/orders.csv" > "$WORK/first.csv"
    tail -n +2 "$WORK/first.csv" | split -n "l/$WRITERS" -d - "$WORK/sfirst." 2>/dev/null \
        || { tail -n +2 "$WORK/first.csv" > "$WORK/firstbody"; split -n "l/$WRITERS" -d "$WORK/firstbody" "$WORK/sfirst."; }
    reset; start=$(now)
    for p in "$WORK"/sfirst.[0-9]*; do
        psql -q -X "$DSN" -c "\\copy book_order FROM '$p' CSV" &
    done
    wait
    fact scaling "psql \\copy, $WRITERS connections" "$n" "$(elapsed "$start")"
    check_rows "$n" "scaling psql"
    rm -f "$WORK"/sfirst.*
    reset; start=$(now)
    holo_load "$WORK/first.csv" "$n" "$WRITERS"
    fact scaling "holo-host, --writers $WRITERS" "$n" "$(elapsed "$start")"
    check_rows "$n" "scaling holo-host"
done

say "transform stage per language"
TROWS=$(( ROWS < 100000 ? ROWS : 100000 ))
head -n $((TROWS + 1)) "$WORK/orders.csv" > "$WORK/t.csv"
for lang in rust python js; do
    case $lang in
        rust) wasm="$GUEST_DIR/enrich.wasm" ;;
        python) wasm="$GUEST_DIR/enrich-py.wasm" ;;
        js) wasm="$GUEST_DIR/enrich-js.wasm" ;;
    esac
    if [ ! -f "$wasm" ] || { [ "$lang" != rust ] && [ -z "$PORTS" ]; }; then
        fact tskipped "$lang" "the component was not built (its toolchain is missing)"
        continue
    fi
    args=(--transform "$wasm" --set lookup=books --set key=book_id --set columns=name:book_name
          --lookup "books=csv:$WORK/books.csv?columns=id,name" --no-progress)
    # Once to compile the component into the cache: the run below measures records only.
    head -3 "$WORK/t.csv" | "$BIN/holo-host" run --source csv:- "${args[@]}" >/dev/null 2>&1
    start=$(now)
    "$BIN/holo-host" run --source "csv:$WORK/t.csv" "${args[@]}" >/dev/null 2>&1
    fact transform "$lang" "$TROWS" "$(elapsed "$start")"
done

say "stream: a backlog of $BACKLOG records from 4 shards"
start_sls_lite "$WORK" --logstore bench/backlog:4 --logstore bench/live:4 --logstore bench/idle:4 \
    --logstore bench/idlepy:4 --logstore bench/slow:1 --anonymous
PIDS+=("$SLS_PID")
SLS=$SLS_ADDR
python3 scripts/bench/feed.py --sls "$SLS" --project bench --logstore backlog --count "$BACKLOG" >/dev/null
psql_ -c "CREATE TABLE backlog (id int8, sent_ms int8, payload text)"
SRC="?endpoint=http://$SLS&anonymous=true&start=begin&consumer_group=bench&columns=id,sent_ms,payload&meta=none"
start=$(now)
"$BIN/holo-host" run --source "sls://bench/backlog$SRC" --sink "$DSN" --table public.backlog \
    --exit-when-idle 3s --no-progress 2>"$WORK/stream.log" &
HH=$!
drained=$(wait_drained "$HH" backlog "$BACKLOG" "$start" "$WORK/rss")
wait "$HH"
[ -n "$drained" ] || { echo "the backlog was not drained: $(tail -3 "$WORK/stream.log")" >&2; exit 1; }
fact stream drain "$BACKLOG" "$drained"
fact rss "$(tr '\n' ' ' < "$WORK/rss")"

say "stream: put-to-visible latency at $RATE records/s for $SECONDS_PACED s"
psql_ -c "CREATE TABLE live (id int8, sent_ms int8, payload text, landed_at timestamptz DEFAULT clock_timestamp())"
LIVE="?endpoint=http://$SLS&anonymous=true&start=begin&consumer_group=bench&columns=id,sent_ms,payload&meta=none"
"$BIN/holo-host" run --source "sls://bench/live$LIVE" --sink "$DSN" --table public.live \
    --no-progress 2>"$WORK/live.log" &
HH=$!
PIDS+=("$HH")
sleep 3
SENT=$(python3 scripts/bench/feed.py --sls "$SLS" --project bench --logstore live \
    --rate "$RATE" --seconds "$SECONDS_PACED")
for _ in $(seq 100); do
    [ "$(psql -tA -X "$DSN" -c "SELECT count(*) FROM live")" = "$SENT" ] && break
    sleep 0.1
done
kill -TERM "$HH"; wait "$HH" || true
psql -tA -X "$DSN" -c "SELECT extract(epoch FROM landed_at) * 1000 - sent_ms FROM live" > "$WORK/latency"
fact latency "$RATE" "$SECONDS_PACED" "$SENT"

say "stream: requests of 4 idle shards for $IDLE_SECONDS s, holo-host and the official Python consumer"
SDK_PY="$TARGET_DIR/py-venv/bin/python"
if ! "$SDK_PY" -c "import aliyun.log.consumer" 2>/dev/null; then
    { python3 -m venv "$TARGET_DIR/py-venv" && "$SDK_PY" -m pip install --quiet --disable-pip-version-check \
        aliyun-log-python-sdk==0.9.52; } >/dev/null 2>&1 || say "the official Python SDK cannot be installed: no reference row"
fi
psql_ -c "CREATE TABLE idle (id int8, sent_ms int8, payload text)"
python3 scripts/bench/idle_requests.py --sls "$SLS" --holo-host "$BIN/holo-host" --dsn "$DSN" \
    --python "$SDK_PY" --seconds "$IDLE_SECONDS" > "$WORK/requests.json"

say "stream: one shard of $SLOW records drained with 150 ms added to every pull"
python3 scripts/bench/feed.py --sls "$SLS" --project bench --logstore slow --count "$SLOW" >/dev/null
python3 - "$SLS" <<'SLOWPY'
import json, sys, urllib.request
rule = {"op": "pull", "logstore": "slow", "latency_ms": 150}
req = urllib.request.Request(f"http://{sys.argv[1]}/_admin/faults", data=json.dumps(rule).encode(), method="POST")
urllib.request.urlopen(req, timeout=10).read()
SLOWPY
SLOW_BYTES=$(python3 -c "import json,sys,urllib.request; s=json.load(urllib.request.urlopen('http://$SLS/_admin/stats')); print(sum(sh['bytes'] for ls in s['logstores'] if ls['logstore']=='slow' for sh in ls['shards']))")
psql_ -c "CREATE TABLE slow (id int8, sent_ms int8, payload text)"
start=$(now)
"$BIN/holo-host" run --source "sls://bench/slow?endpoint=http://$SLS&anonymous=true&start=begin&columns=id,sent_ms,payload&meta=none" \
    --sink "$DSN" --table public.slow --exit-when-idle 2s --no-progress 2>"$WORK/slow.log" &
HH=$!
slow_drained=$(wait_drained "$HH" slow "$SLOW" "$start" /dev/null)
wait "$HH"
[ -n "$slow_drained" ] || { echo "the slow shard was not drained: $(tail -3 "$WORK/slow.log")" >&2; exit 1; }
fact slow "$SLOW" "$SLOW_BYTES" "$slow_drained"

say "report"
"$PY" - "$FACTS" "$WORK/latency" "$OUT/results.json" "$ROWS" "$WRITERS" "$BACKLOG" "$WORK/requests.json" <<'PY'
import json, os, statistics, subprocess, sys, datetime
facts, latency_file, out, rows, writers, backlog, requests_file = sys.argv[1:8]
rows, writers, backlog = int(rows), int(writers), int(backlog)
batch, scaling, transform, skipped, tskipped, stream = {}, {}, {}, {}, {}, {}
rss = []
for line in open(facts):
    kind, rest = line.split(" ", 1)
    rest = rest.strip()
    if kind == "batch":
        name, s, client, server = rest.rsplit(" ", 3)
        batch.setdefault(name, []).append((float(s), float(client), float(server)))
    elif kind == "scaling":
        name, n, s = rest.rsplit(" ", 2); scaling.setdefault(name, []).append({"rows": int(n), "seconds": float(s)})
    elif kind == "transform":
        lang, n, s = rest.split(" "); transform[lang] = {"seconds": float(s)}; trows = int(n)
    elif kind == "skipped":
        name, why = rest.split(" ", 1) if not rest.startswith("Spark") else ("Spark JDBC append (seed 000)", rest[len("Spark JDBC append (seed 000) "):])
        skipped[name] = why
    elif kind == "tskipped":
        lang, why = rest.split(" ", 1); transform[lang] = {"skipped": why}
    elif kind == "stream":
        _, n, s = rest.split(" "); stream["backlog"] = int(n); stream["drain_seconds"] = float(s)
    elif kind == "slow":
        n, b, s = rest.split(" "); stream["slow_shard"] = {"records": int(n), "bytes": int(b), "seconds": float(s), "latency_ms": 150}
    elif kind == "rss":
        rss = [int(x) / 1024 for x in rest.split()]
    elif kind == "latency":
        rate, secs, sent = rest.split(" "); lat = {"rate": int(rate), "seconds": int(secs), "records": int(sent)}
samples = sorted(float(x) for x in open(latency_file) if x.strip())
def pct(p):
    return samples[min(len(samples) - 1, int(p / 100 * len(samples)))] if samples else float("nan")
lat.update({"p50_ms": pct(50), "p99_ms": pct(99), "max_ms": samples[-1] if samples else float("nan"),
            "samples_ms": samples[:: max(1, len(samples) // 5000)]})
stream.update({"rss_peak_mib": max(rss) if rss else 0, "rss_median_mib": statistics.median(rss) if rss else 0, "latency": lat})
stream["idle_requests"] = json.load(open(requests_file))
runs = {name: {"seconds": statistics.median(s for s, _, _ in v), "all": [s for s, _, _ in v],
               "client_cpu": statistics.median(c for _, c, _ in v),
               "server_cpu": statistics.median(p for _, _, p in v)} for name, v in batch.items()}
for name, why in skipped.items():
    runs[name] = {"skipped": why}
pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.split()[2]
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
result = {
    "date": datetime.date.today().isoformat(), "rows": rows, "writers": writers,
    "machine": {"cores": os.cpu_count(), "memory_gib": round(mem), "postgres": pg},
    "batch": {"reference": f"psql \\copy, {writers} connections", "runs": runs},
    "scaling": scaling,
    "transform": {"rows": trows, "runs": transform},
    "stream": stream,
}
json.dump(result, open(out, "w"), indent=1)
PY
"$PY" scripts/bench/report.py "$OUT" ${DOCS:+--docs docs/performance.md}
say "wrote $OUT/results.json, results.md and the plots"
