# Shared by scripts/demo.sh and scripts/test.sh: installs what a fresh machine lacks and
# builds the example transforms. Sourced, not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
GUESTS=(holo-passthrough holo-alias holo-enrich holo-hostile holo-stamp)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The WebAssembly target the example transforms are built for.
ensure_wasm_target() {
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
        say "installing the Rust target wasm32-wasip2"
        rustup target add wasm32-wasip2
    fi
}

# PostgreSQL server binaries (initdb, pg_ctl, postgres): Debian's package where missing.
pg_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

ensure_postgres() {
    if [ -z "$(pg_bindir)" ]; then
        say "installing PostgreSQL (Debian package postgresql)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq postgresql >/dev/null
    fi
    PG_BIN=$(pg_bindir)
    [ -n "$PG_BIN" ] || { echo "initdb still missing after installing postgresql" >&2; exit 1; }
    export PATH="$PG_BIN:$PATH"
}

# pgjdbc, the driver holo-client is built on (Debian's libpostgresql-jdbc-java), for the
# check of hologres-lite against the paths holo-client takes.
ensure_pgjdbc() {
    if [ ! -f /usr/share/java/postgresql.jar ] && [ -z "${HOLO_PGJDBC_JAR:-}" ]; then
        say "installing pgjdbc (Debian package libpostgresql-jdbc-java)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq libpostgresql-jdbc-java >/dev/null
    fi
}

build_guests() {
    say "building the example transforms (wasm32-wasip2)"
    local args=()
    for g in "${GUESTS[@]}"; do args+=(-p "$g"); done
    cargo build --quiet --profile guest --target wasm32-wasip2 "${args[@]}"
    GUEST_DIR="$TARGET_DIR/wasm32-wasip2/guest"
    export HOLO_GUEST_DIR="$GUEST_DIR"
}

# The Python and JavaScript ports of the examples, with their toolchains (the tests need
# them; the demo does not).
build_ported_guests() {
    build_python_guests
    build_js_guests
}

# componentize-js (npm, from the lock file in guest-transforms/sdk/js/toolchain) under
# target/js-toolchain, installed where missing or when the lock file changed.
JS_TOOLCHAIN="$TARGET_DIR/js-toolchain"
ensure_componentize_js() {
    local src="$ROOT/guest-transforms/sdk/js/toolchain"
    if [ ! -d "$JS_TOOLCHAIN/node_modules/@bytecodealliance/componentize-js" ] \
        || ! cmp -s "$src/package-lock.json" "$JS_TOOLCHAIN/package-lock.json"; then
        say "installing componentize-js into $JS_TOOLCHAIN (npm ci)"
        mkdir -p "$JS_TOOLCHAIN"
        cp "$src/package.json" "$src/package-lock.json" "$JS_TOOLCHAIN/"
        (cd "$JS_TOOLCHAIN" && npm ci --no-audit --no-fund --silent)
    fi
    cp "$src/build.mjs" "$JS_TOOLCHAIN/"
    export HOLO_JS_TOOLCHAIN="$JS_TOOLCHAIN"
}

# The JavaScript ports of the examples (guest-transforms/examples/NAME/js/app.js, with the
# SDK beside it) as NAME-js.wasm, rebuilt when a source is newer than the component.
build_js_guests() {
    ensure_componentize_js
    local wit app out work
    wit=$(mktemp -d)
    cp "$ROOT/wit/transform.wit" "$wit/"
    for app in "$ROOT"/guest-transforms/examples/*/js/app.js; do
        out="$GUEST_DIR/$(basename "$(dirname "$(dirname "$app")")")-js.wasm"
        if [ -f "$out" ] && [ -z "$(find "$app" "$ROOT/guest-transforms/sdk/js/holo_transform.js" "$ROOT/wit/transform.wit" -newer "$out")" ]; then
            continue
        fi
        say "building $(basename "$out") (componentize-js)"
        work=$(mktemp -d)
        cp "$app" "$ROOT/guest-transforms/sdk/js/holo_transform.js" "$work/"
        node "$JS_TOOLCHAIN/build.mjs" "$work/app.js" "$wit" "$out"
        rm -rf "$work"
    done
    rm -rf "$wit"
}

# componentize-py in a virtual environment under target/, installed from PyPI where missing.
PY_VENV="$TARGET_DIR/py-componentize"
COMPONENTIZE_PY_VERSION=0.25.1
ensure_componentize_py() {
    if ! "$PY_VENV/bin/componentize-py" --version 2>/dev/null | grep -q "$COMPONENTIZE_PY_VERSION"; then
        say "installing componentize-py $COMPONENTIZE_PY_VERSION into $PY_VENV"
        python3 -m venv "$PY_VENV"
        "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check \
            "componentize-py==$COMPONENTIZE_PY_VERSION"
    fi
    export HOLO_PY_VENV="$PY_VENV"
}

# The Python ports of the examples (guest-transforms/examples/NAME/python/app.py) as
# NAME-py.wasm, rebuilt when a source is newer than the component.
build_python_guests() {
    ensure_componentize_py
    local wit app out
    wit=$(mktemp -d)
    cp "$ROOT/wit/transform.wit" "$wit/"
    for app in "$ROOT"/guest-transforms/examples/*/python/app.py; do
        out="$GUEST_DIR/$(basename "$(dirname "$(dirname "$app")")")-py.wasm"
        if [ -f "$out" ] && [ -z "$(find "$app" "$ROOT/guest-transforms/sdk/python" "$ROOT/wit/transform.wit" -newer "$out" \( -name '*.py' -o -name '*.wit' \))" ]; then
            continue
        fi
        say "building $(basename "$out") (componentize-py)"
        "$PY_VENV/bin/componentize-py" -d "$wit" -w transform componentize \
            -p "$ROOT/guest-transforms/sdk/python" -p "$(dirname "$app")" app -o "$out" >/dev/null
    done
    rm -rf "$wit"
}

# The example transforms, holo-host, holo-seed, sls-lite and hologres-lite built with cargo
# profile PROFILE (dev or release); sets BIN to where the binaries are.
build_tools() {
    local profile=$1
    ensure_wasm_target
    ensure_postgres
    build_guests
    say "building holo-host, holo-seed, sls-lite and hologres-lite ($profile)"
    cargo build --quiet --profile "$profile" -p holo-host -p holo-seed -p sls-lite -p hologres-lite
    BIN="$TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")"
}

# A local sls-lite on a free loopback port, started with ARGS (logstores, keys), its output
# in DIR; sets SLS_ADDR and SLS_PID.
start_sls_lite() {
    local dir=$1; shift
    "$BIN/sls-lite" --listen 127.0.0.1:0 "$@" > "$dir/sls.out" 2> "$dir/sls.log" &
    SLS_PID=$!
    for _ in $(seq 50); do [ -s "$dir/sls.out" ] && break; sleep 0.1; done
    SLS_ADDR=$(head -1 "$dir/sls.out" | awk '{print $NF}')
}

# A local hologres-lite imitating Hologres VERSION in front of the PostgreSQL at $DSN (in
# database hologres_lite of its own), its output in DIR; sets HG_DSN and HG_PID.
start_hologres_lite() {
    local dir=$1 version=$2
    "$BIN/hologres-lite" --backend "$DSN" --version "$version" --listen 127.0.0.1:0 \
        > "$dir/hologres.out" 2> "$dir/hologres-lite.log" &
    HG_PID=$!
    for _ in $(seq 100); do [ -s "$dir/hologres.out" ] && break; sleep 0.1; done
    HG_DSN="postgres://postgres@$(head -1 "$dir/hologres.out" | awk '{print $NF}')/postgres"
}

# A throwaway PostgreSQL in DIR/pg on a free loopback port (as the `postgres` user when run
# as root, which initdb requires); sets DSN, and PG_OPTS to start it again after a stop.
# Stop it with stop_throwaway_postgres DIR.
start_throwaway_postgres() {
    local dir=$1 port
    RUN_AS=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        RUN_AS=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54329)
    say "starting a throwaway PostgreSQL on 127.0.0.1:$port"
    "${RUN_AS[@]}" initdb -D "$dir/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    PG_OPTS="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off"
    "${RUN_AS[@]}" pg_ctl -D "$dir/pg" -l "$dir/pg.log" -w -o "$PG_OPTS" start >/dev/null
    DSN="postgres://postgres@127.0.0.1:$port/postgres"
}

stop_throwaway_postgres() {
    "${RUN_AS[@]}" pg_ctl -D "$1/pg" -m immediate stop >/dev/null 2>&1 || true
}
