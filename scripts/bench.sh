#!/usr/bin/env bash
# The full benchmark run: installs what is needed, builds release, and runs peerchat-bench with
# every figure, median of 5 runs, against baselines measured in the same run, plus Tox for
# comparison (~20 minutes on 2 cores). Extra arguments go to peerchat-bench, e.g.
# `scripts/bench.sh --json` or `scripts/bench.sh --runs 1 --only session`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target peerchat peerchat-bench peerchat-micro-bench >&2
build/release/bench/peerchat-micro-bench >&2
exec build/release/bench/peerchat-bench --runs 5 --tox --peerchat build/release/apps/peerchat/peerchat "$@"
