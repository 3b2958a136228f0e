#!/usr/bin/env bash
# Long runs of the fuzz targets: the property tests (proptest, stable Rust) of the parsers
# that face the outside, each run for --minutes with fresh random cases until the time is
# up. The test command runs each once with proptest's default 256 cases. A failure is
# shrunk and saved under host/proptest-regressions/ (commit it: it is replayed first from
# then on), and becomes a named regression test next to the target.
#
#   scripts/fuzz.sh [--minutes N]    (per target; default 30)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MINUTES=30
while [ $# -gt 0 ]; do
    case $1 in
        --minutes) MINUTES=$2; shift 2 ;;
        *) echo "usage: $0 [--minutes N]" >&2; exit 2 ;;
    esac
done
TARGETS=(
    source::csv::reader::fuzz           # the CSV reader, quoting faults
    source::sls::pull::fuzz             # PullLogs bodies: LZ4/zstd, lying sizes, damage
    fuzz_tests::transform_output        # the batch codec reading what a transform returns
    fuzz_tests::lookup_specs            # --lookup
    fuzz_tests::object_and_stream_urls  # --source oss://, s3://, sls://
    fuzz_tests::dsns                    # --sink DSNs (never echoing a password)
)
say "building the fuzz targets (release)"
cargo test --quiet --release -p holo-host --lib --no-run
printf '%-40s %10s %12s %s\n' target rounds cases result
for t in "${TARGETS[@]}"; do
    end=$((SECONDS + MINUTES * 60)) rounds=0 result=ok
    while [ $SECONDS -lt $end ]; do
        if ! PROPTEST_CASES=5000 cargo test --quiet --release -p holo-host --lib -- "$t" \
            > "$TARGET_DIR/fuzz-$rounds.log" 2>&1; then
            result="FAILED (see $TARGET_DIR/fuzz-$rounds.log)"
            break
        fi
        rounds=$((rounds + 1))
    done
    printf '%-40s %10d %12d %s\n' "$t" "$rounds" $((rounds * 5000)) "$result"
    [ "$result" = ok ] || exit 1
done
rm -f "$TARGET_DIR"/fuzz-*.log
