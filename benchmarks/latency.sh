#!/usr/bin/env bash
# Round trips and connection rate through one p22p forward, for quick
# iterations on the latency path (bench.py measures the same next to OpenSSH).
#   benchmarks/latency.sh [RUNS]     (default 3)
#   RELAY_ARGS="--threads 1" benchmarks/latency.sh   passes flags to the relay
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
TARGET=echo
source benchmarks/lib/forward-setup.sh
cd benchmarks
for _ in $(seq "$RUNS"); do
  python3 -c "
import bench
p50, p99 = bench.round_trips($LOCAL, 20000, 500, 64)
rate = bench.connection_rate($LOCAL, 2000, 50)
print(f'round trip p50 {p50:.0f} us, p99 {p99:.0f} us; {rate:.0f} connections/s')"
done
