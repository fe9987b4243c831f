#!/usr/bin/env bash
# Relay cluster at scale (issue 15): three relays behind HAProxy, 2 x GROUPS
# members (default 500 groups, 1,000 members) with a forward per group; the
# cold start, each relay's memory and idle CPU, and the reconnect storm after
# the busiest relay is killed with -9. Not part of `swift test`.
#   benchmarks/scale.sh [GROUPS]
# P22P_BIN=DIR uses binaries from DIR instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${P22P_BIN:-}" ]; then
  BIN=$P22P_BIN
else
  swift build -c release --product p22p-server >/dev/null
  swift build -c release --product p22p-up >/dev/null
  BIN=.build/release
fi
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { echo "scale.sh needs haproxy (apt-get install haproxy)" >&2; exit 1; }
exec python3 benchmarks/scale.py "$BIN" "${1:-500}"
