#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 10), starting from
# its corpus in fuzz/corpus/<target>. New inputs go to a scratch dir (merge the interesting ones
# into the corpus by hand with -merge=1). A crash fails the script and leaves its input in
# build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
mkdir -p build/fuzz/artifacts
for target in frame_fuzz messages_fuzz protocol_fuzz manifest_fuzz frames_fuzz; do
  scratch=$(mktemp -d)
  echo "== fuzzing $target for ${seconds}s"
  build/fuzz/fuzz/$target -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build/fuzz/artifacts/"$target"- -print_final_stats=1 \
    "$scratch" "fuzz/corpus/$target" 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==|ERROR|SUMMARY)" || true
  status=${PIPESTATUS[0]}
  rm -rf "$scratch"
  [ "$status" -eq 0 ] || { echo "fuzzing $target found a problem (exit $status)"; exit 1; }
done
