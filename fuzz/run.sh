#!/usr/bin/env bash
# Builds the libFuzzer targets with `swiftc -sanitize=fuzzer` and runs each for FUZZ_SECONDS
# (default 60). Each target is one module named Shared made of the target file, the Shared sources
# it exercises and, for the worker and listener parsers, their source file: SwiftPM cannot build one
# product with -sanitize=fuzzer without instrumenting (and rebuilding) all of NIO.
# A crash leaves fuzz/artifacts/<target>/crash-* and fails the run; copy it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
TARGETS="${FUZZ_TARGETS:-envelope inbound-line json-array config}"
OUT=.build/fuzz
mkdir -p "$OUT"
SHARED=(Sources/Shared/Messages/*.swift Sources/Shared/Config/*.swift)

sources_for() {
    case "$1" in
        envelope|config) echo "${SHARED[@]}" ;;
        inbound-line) echo "${SHARED[@]} Sources/AppWorker/Socket/InboundLine.swift" ;;
        json-array) echo "Sources/Listener/Ingress/JSONArraySplitter.swift" ;;
        *) echo "unknown fuzz target $1 (have: envelope inbound-line json-array config)" >&2; exit 2 ;;
    esac
}

status=0
for target in $TARGETS; do
    binary="$OUT/fuzz-$target"
    # shellcheck disable=SC2046
    swiftc -sanitize=fuzzer,address -parse-as-library -module-name Shared -suppress-warnings \
        -I Sources/CYaml -O -g \
        "fuzz/targets/$target.swift" $(sources_for "$target") -o "$binary"
    mkdir -p "fuzz/artifacts/$target" "$OUT/corpus/$target"
    # New inputs go to the scratch corpus under .build; the seed corpus in the repo stays small.
    echo "== fuzz $target for ${SECONDS_PER_TARGET}s"
    if ! "$binary" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 \
        "$OUT/corpus/$target" "fuzz/corpus/$target" 2>"$OUT/$target.log"; then
        echo "fuzz $target: FAILED, see $OUT/$target.log and fuzz/artifacts/$target/" >&2
        tail -30 "$OUT/$target.log" >&2
        status=1
    fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov:" "$OUT/$target.log" | tail -3 || true
done
exit $status
