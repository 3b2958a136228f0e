#!/usr/bin/env bash
# Kill-anywhere soak: SIGKILLs holo-host at random moments of a 1M-row CSV load, of a Log
# Service stream, of a stream whose logstore is split, merged, expired by its TTL and whose
# table is recreated under it, and of a load into Hologres as hologres-lite imitates it,
# restarting it each time, with PostgreSQL crashes, Log Service fault spells and Hologres
# failovers at random (scripts/soak/kill.py, lifecycle.py and hologres.py drive it and say
# how). At the end every record must
# be in the table exactly once; it prints a table of trials and writes
# target/soak/results.json.
#
#   scripts/soak.sh [--rows N] [--kills N] [--seed N] [--parts csv,stream,lifecycle,hologres]
#   scripts/soak.sh --smoke     (the test command's short run: debug build, 100k rows, 4 kills
#                                of each part)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ROWS=1000000 KILLS=20 RATE=2000 PROFILE=release SEED=$(date +%s) OUT="$TARGET_DIR/soak" PARTS=csv,stream,lifecycle,hologres
while [ $# -gt 0 ]; do
    case $1 in
        --rows) ROWS=$2; shift 2 ;;
        --kills) KILLS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --parts) PARTS=$2; shift 2 ;;
        --smoke) ROWS=100000 KILLS=4 RATE=500 PROFILE=dev OUT="$TARGET_DIR/soak-smoke"; shift ;;
        *) echo "usage: $0 [--rows N] [--kills N] [--seed N] [--parts csv,stream,lifecycle,hologres] | --smoke" >&2; exit 2 ;;
    esac
done

build_tools "$PROFILE"
mkdir -p "$OUT"

WORK=$(mktemp -d /tmp/holo-soak.XXXXXX)
SLS_PID= HG_PID= LIFE_PID=
cleanup() {
    [ -n "$SLS_PID" ] && kill "$SLS_PID" 2>/dev/null
    [ -n "$LIFE_PID" ] && kill "$LIFE_PID" 2>/dev/null
    [ -n "$HG_PID" ] && kill "$HG_PID" 2>/dev/null
    stop_throwaway_postgres "$WORK"
    # The runs' logs outlive the soak, for a look after a failure.
    cp "$WORK"/*.log "$OUT/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
start_throwaway_postgres "$WORK"
PG=("${RUN_AS[@]}" pg_ctl -D "$WORK/pg" -l "$WORK/pg.log" -w)

say "generating $ROWS seed orders"
# A ragged line every 100,000 (and one near the start): dead letters that must survive the
# kills too.
"$BIN/holo-seed" orders "$ROWS" | awk 'NR % 100000 == 0 || NR == 1001 { print "ragged,line," NR } { print }' \
    > "$WORK/orders.csv"
"$BIN/holo-seed" books > "$WORK/books.csv"

# The life-cycle part's logstore is split and merged through the API: unsigned, on its own.
mkdir -p "$WORK/life"
start_sls_lite "$WORK/life" --logstore soak/life:2 --anonymous
LIFE_PID=$SLS_PID LIFE_ADDR=$SLS_ADDR
start_sls_lite "$WORK" --logstore soak/events:4 --access-key soak-key:soak-secret
start_hologres_lite "$WORK" 3.0.30

say "soak: $KILLS kills of a $ROWS-row load, $KILLS of a stream, $KILLS of a changing logstore, $KILLS of a load into Hologres (seed $SEED)"
python3 scripts/soak/kill.py --holo-host "$BIN/holo-host" --dsn "$DSN" \
    --pg-stop "${PG[*]} -m immediate stop" --pg-start "${PG[*]} -o '$PG_OPTS' start" \
    --work "$WORK" --csv "$WORK/orders.csv" --enrich "$GUEST_DIR/enrich.wasm" "$WORK/books.csv" \
    --sls "$SLS_ADDR" --sls-life "$LIFE_ADDR" --hologres "$HG_DSN" --kills "$KILLS" --rate "$RATE" --seed "$SEED" --parts "$PARTS" --json "$OUT/results.json"
