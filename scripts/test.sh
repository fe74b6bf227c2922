#!/usr/bin/env bash
# Installs what is needed, then builds and runs every test: an optimised build, an
# AddressSanitizer + UndefinedBehaviorSanitizer build and a ThreadSanitizer build; fuzzes each
# decoder briefly. Also checks formatting.
# PEERCHAT_SKIP_ASAN=1 / PEERCHAT_SKIP_TSAN=1 skip those passes (quicker local runs);
# PEERCHAT_FUZZ_SECONDS sets the fuzzing time per target (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
start=$(date +%s)

echo "== clang-format check"
git ls-files -- '*.cpp' '*.hpp' | xargs -r clang-format --dry-run --Werror

echo "== release build and tests"
cmake --preset release
cmake --build --preset release
ctest --preset release

if [ "${PEERCHAT_SKIP_ASAN:-0}" != 1 ]; then
  echo "== ASan + UBSan build and tests"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  cmake --preset asan
  cmake --build --preset asan
  ctest --preset asan
fi
if [ "${PEERCHAT_SKIP_TSAN:-0}" != 1 ]; then
  # Where threads meet: the stdin reader posting into the I/O thread, the test harness's pipes.
  echo "== ThreadSanitizer build and tests (benchmark and kill loop excluded: too slow)"
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  cmake --preset tsan
  # Only what this pass runs: the benchmarks are excluded from it, so they are not built.
  cmake --build --preset tsan --target peerchat peerchat_unit_tests peerchat_integration_tests \
    frame_fuzz_replay messages_fuzz_replay protocol_fuzz_replay manifest_fuzz_replay \
    frames_fuzz_replay
  ctest --preset tsan
fi

echo "== fuzz targets, briefly (scripts/fuzz.sh SECONDS runs them longer)"
scripts/fuzz.sh "${PEERCHAT_FUZZ_SECONDS:-10}"

echo "== all tests passed in $(( $(date +%s) - start )) s"
