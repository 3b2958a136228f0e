#!/usr/bin/env bash
# Long runs of the fuzz targets: the property tests (proptest, stable Rust) of the parsers
# that face the outside, each run for --minutes with fresh random cases until the time is
# up. The test command runs each once with proptest's default 256 cases. A failure is
# shrunk and saved under its package's proptest-regressions/ (commit it: it is replayed
# first from then on), and becomes a named regression test next to the target.
#
#   scripts/fuzz.sh [--minutes N] [PACKAGE:TARGET…]    (per target; default 30; all by default)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MINUTES=30 CHOSEN=()
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        -*) echo "usage: $0 [--minutes N] [PACKAGE:TARGET…]" >&2; exit 2 ;;
        *) CHOSEN+=("$1"); shift ;;
    esac
done
# PACKAGE:TARGET, each run from its package's folder.
ALL=(
    holo-host:input::csv::fuzz                    # the CSV reader, quoting faults
    sls-client:pull::fuzz                         # PullLogs bodies: LZ4/zstd, lying sizes, damage
    holo-host:fuzz_tests::transform_output        # the batch codec reading what a transform returns
    holo-host:fuzz_tests::lookup_specs            # --lookup
    holo-host:fuzz_tests::object_and_stream_urls  # --source oss://, s3://, sls://
    holo-host:fuzz_tests::dsns                    # --sink DSNs (never echoing a password)
)
TARGETS=("${CHOSEN[@]:-${ALL[@]}}")
RUN_DIR=$(mktemp -d /tmp/holo-fuzz.XXXXXX)
trap 'rm -rf "$RUN_DIR"' EXIT
# The test binaries are run directly, so a later edit or build elsewhere in the tree neither
# waits on nor rebuilds under a long run; a copy keeps one from being replaced meanwhile.
for package in $(printf '%s\n' "${TARGETS[@]%%:*}" | sort -u); do
    say "building the fuzz targets of $package (release)"
    EXE=$(cargo test --release -p "$package" --lib --no-run --message-format=json 2>/dev/null \
        | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["lib"]:
        print(m["executable"])')
    cp "$EXE" "$RUN_DIR/$package"
done
printf '%-40s %10s %12s %s\n' target rounds cases result
for target in "${TARGETS[@]}"; do
    package=${target%%:*} t=${target#*:}
    case $package in
        holo-host) dir=host ;;
        sls-client) dir=host/sls-client ;;
        *) echo "no fuzz targets in package $package" >&2; exit 2 ;;
    esac
    end=$((SECONDS + MINUTES * 60)) rounds=0 result=ok
    while [ $SECONDS -lt $end ]; do
        # Run from the package's folder as cargo would, so failures are saved to its
        # proptest-regressions/.
        if ! (cd "$dir" && PROPTEST_CASES=5000 "$RUN_DIR/$package" --quiet "$t") \
            > "$RUN_DIR/round.log" 2>&1; then
            cp "$RUN_DIR/round.log" "$TARGET_DIR/fuzz-failed.log"
            result="FAILED (see $TARGET_DIR/fuzz-failed.log)"
            break
        fi
        rounds=$((rounds + 1))
    done
    printf '%-40s %10d %12d %s\n' "$target" "$rounds" $((rounds * 5000)) "$result"
    [ "$result" = ok ] || exit 1
done
