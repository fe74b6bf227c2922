#!/usr/bin/env bash
# Installs what is needed, builds peerchat (release) and starts a peer with the given options,
# e.g.  scripts/run.sh --name alice --port 7001
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh >&2
cmake --preset release >/dev/null
cmake --build --preset release --target peerchat >&2
exec build/release/apps/peerchat/peerchat "$@"
