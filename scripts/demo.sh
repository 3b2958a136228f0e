#!/usr/bin/env bash
# Runs holo-host end to end on a fresh machine: a throwaway local PostgreSQL standing in for
# Hologres, generated seed orders, and the example transforms built from source.
#
#   1. S1   orders.csv (10,000 generated orders)            → public.book_order
#   2. S4   ratings.csv + the headerless books.csv (enrich)  → public.book_rating
#   3. a preview of the alias transform on stdout, no database
#   4. the same load again: it resumes at its saved position and writes nothing twice
#   5. S2   a short stream: orders sent to a local SLS-compatible server (sls-lite) through
#           WebTracking, consumed by a consumer group into public.book_order_stream
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_wasm_target
ensure_postgres
build_guests
say "building holo-host"
cargo build --quiet --release -p holo-host -p holo-seed -p sls-lite
BIN="$TARGET_DIR/release"

WORK=$(mktemp -d /tmp/holo-demo.XXXXXX)
SLS_PID=
cleanup() {
    [ -n "$SLS_PID" ] && kill "$SLS_PID" 2>/dev/null
    stop_throwaway_postgres "$WORK"
    rm -rf "$WORK"
}
trap cleanup EXIT

start_throwaway_postgres "$WORK"
psql_() { psql -q -X -v ON_ERROR_STOP=1 "$DSN" "$@"; }

psql_ <<'SQL'
CREATE TABLE public.book_order (
  order_id text NOT NULL, user_id int8 NOT NULL, book_id int8 NOT NULL,
  book_name text NOT NULL, order_cnt int8 NOT NULL, order_amt int8 NOT NULL,
  PRIMARY KEY (order_id));
CREATE TABLE public.book_order_stream (LIKE public.book_order INCLUDING ALL);
CREATE TABLE public.book_rating (
  id int8 NOT NULL, user_id text NOT NULL, name text NOT NULL, rating int2 NOT NULL);
SQL

"$BIN/holo-seed" orders 10000 > "$WORK/orders.csv"
"$BIN/holo-seed" ratings 2000 > "$WORK/ratings.csv"
"$BIN/holo-seed" books > "$WORK/books.csv"

say "S1: orders.csv → public.book_order"
"$BIN/holo-host" run --source "csv:$WORK/orders.csv" \
    --transform "$GUEST_DIR/passthrough.wasm" \
    --sink "$DSN" --table public.book_order --dead-letter "$WORK/rejected.jsonl"

say "S4: ratings.csv joined with books.csv (enrich) → public.book_rating"
"$BIN/holo-host" run --source "csv:$WORK/ratings.csv" \
    --transform "$GUEST_DIR/enrich.wasm" --set lookup=books --set key=id --set columns=name \
    --lookup "books=csv:$WORK/books.csv?columns=id,name" \
    --sink "$DSN" --table public.book_rating --dead-letter "$WORK/rejected.jsonl"

say "preview: the alias transform on stdout (first 3 rows)"
"$BIN/holo-host" run --source "csv:$WORK/orders.csv" --batch-rows 3 \
    --transform "$GUEST_DIR/alias.wasm" --set rename=book_name:title --set select=order_id,title,order_amt \
    --set cast=order_amt:int 2>/dev/null | head -3 || true

say "S1 again: the load resumes at its saved position, nothing is written twice"
"$BIN/holo-host" run --source "csv:$WORK/orders.csv" \
    --transform "$GUEST_DIR/passthrough.wasm" \
    --sink "$DSN" --table public.book_order

say "S2: a stream from a local SLS-compatible server (sls-lite) → public.book_order_stream"
# Signed requests, as the real service wants them (WebTracking needs no key).
"$BIN/sls-lite" --listen 127.0.0.1:0 --logstore holo-demo/book-orders:2 \
    --access-key demo-key-id:demo-key-secret > "$WORK/sls.out" 2> "$WORK/sls.log" &
SLS_PID=$!
for _ in $(seq 50); do [ -s "$WORK/sls.out" ] && break; sleep 0.1; done
SLS_ADDR=$(head -1 "$WORK/sls.out" | awk '{print $NF}')
# 200 orders through WebTracking (GET, URL-encoded UTF-8), as a browser would send them.
"$BIN/holo-seed" orders 200 | tail -n +2 | while IFS=, read -r id user book name cnt amt; do
    curl -sf -G "http://$SLS_ADDR/logstores/book-orders/track" -H "Host: holo-demo.$SLS_ADDR" \
        --data-urlencode APIVersion=0.6.0 --data-urlencode __topic__=orders \
        --data-urlencode "order_id=$id" --data-urlencode "user_id=$user" \
        --data-urlencode "book_id=$book" --data-urlencode "book_name=$name" \
        --data-urlencode "order_cnt=$cnt" --data-urlencode "order_amt=$amt" >/dev/null
done
ALIBABA_CLOUD_ACCESS_KEY_ID=demo-key-id ALIBABA_CLOUD_ACCESS_KEY_SECRET=demo-key-secret \
"$BIN/holo-host" run \
    --source "sls://holo-demo/book-orders?endpoint=http://$SLS_ADDR&consumer_group=demo&start=begin" \
    --transform "$GUEST_DIR/alias.wasm" \
    --set select=order_id,user_id,book_id,book_name,order_cnt,order_amt \
    --sink "$DSN" --table public.book_order_stream --exit-when-idle 2s

say "what landed"
psql_ -c "SELECT count(*) AS orders, sum(order_amt) AS amount FROM public.book_order" \
      -c "SELECT count(*) AS streamed_orders, sum(order_amt) AS amount FROM public.book_order_stream" \
      -c "SELECT name, count(*) AS ratings, round(avg(rating), 2) AS avg FROM public.book_rating GROUP BY name ORDER BY name"
