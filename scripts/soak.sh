#!/usr/bin/env bash
# The fan-in soak, opt-in (ctest skips it): rounds of several senders writing to one receiver at
# once, and now and then a kill -9 of a random sender or of the receiver, restarted on the same
# data dir and port; after every round the receiver must hold exactly what each sender
# committed, once, in order, under its author. Also runs the fan-in test at its long size.
# Builds release first (niced: the machine is shared). Sizes: PEERCHAT_SOAK_ROUNDS (30),
# PEERCHAT_SOAK_SENDERS (6), PEERCHAT_SOAK_SECONDS (1800), PEERCHAT_FANIN_ROUNDS (20).
# Extra arguments go to the test binary, e.g. `scripts/soak.sh --gtest_filter='FanInSoak.*'`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
nice -n 10 cmake --build --preset release --target peerchat peerchat_integration_tests >&2
export PEERCHAT_SOAK=1
export PEERCHAT_BIN="$PWD/build/release/apps/peerchat/peerchat"
exec build/release/tests/peerchat_integration_tests --gtest_filter='FanIn*' "$@"
