#!/usr/bin/env bash
# Builds the libFuzzer harness and runs it for SECONDS (default 30) on a copy
# of the seed corpus. Exits non-zero if the fuzzer finds a crash.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN=${1:-30}
swift build -c release --sanitize fuzzer --product frame-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp corpus/* "$work/"
SWIFT_BACKTRACE=enable=no .build/release/frame-fuzz "$work" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 \
    -artifact_prefix="$work/" -print_final_stats=1 2>&1 | tail -8
