#!/usr/bin/env bash
# A long run of a Log Service stream against a service that idles, throttles and fails for a
# minute at a time: two holo-host members of one consumer group read a 4-shard logstore of a
# local sls-lite (signed requests) into a table without a key (a duplicate would show), while
# scripts/soak/stream.py feeds records in bursts, injects fault spells and kills a member now
# and then. At the end every record must be in the table exactly once.
#
#   scripts/soak-sls.sh [--minutes N]     (default 10; the tests run a short version of each part)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MINUTES=10
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        *) echo "usage: $0 [--minutes N]" >&2; exit 2 ;;
    esac
done

build_tools release

WORK=$(mktemp -d /tmp/holo-soak.XXXXXX)
SLS_PID=
cleanup() {
    [ -n "$SLS_PID" ] && kill "$SLS_PID" 2>/dev/null
    pkill -f "holo-soak-member" 2>/dev/null || true
    stop_throwaway_postgres "$WORK"
    # The members' and the server's logs outlive the run, for a look after a failure.
    mkdir -p "$TARGET_DIR/soak" && cp "$WORK"/*.log "$TARGET_DIR/soak/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
start_throwaway_postgres "$WORK"
psql -q -X -v ON_ERROR_STOP=1 "$DSN" -c "CREATE TABLE soak (id int8 NOT NULL, payload text NOT NULL)"

start_sls_lite "$WORK" --logstore soak/events:4 --access-key soak-key:soak-secret

say "soaking for $MINUTES minutes"
python3 scripts/soak/stream.py --minutes "$MINUTES" --sls "$SLS_ADDR" --dsn "$DSN" \
    --holo-host "$BIN/holo-host" --work "$WORK"
