#!/usr/bin/env bash
# Where the CPU goes in a bulk transfer through one p22p forward: perf records
# the relay and both members (call graphs) while BYTES go through, then prints
# the hottest symbols of each process.
#   benchmarks/profile.sh [BYTES]     (default 2 GiB; needs perf)
# The raw data stays in benchmarks/profile-*.data for `perf report -i`.
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-2147483648}
source benchmarks/lib/forward-setup.sh
python3 benchmarks/bulk.py send "$LOCAL" 67108864 1 >/dev/null   # warm up
for role in relay host guest; do
  pid_var="${role^^}_PID"
  perf record -F 999 -g -o "benchmarks/profile-$role.data" -p "${!pid_var}" 2>"$WORK/perf-$role.log" & PIDS+=($!)
done
sleep 0.5
echo "through p22p, $BYTES bytes: $(python3 benchmarks/bulk.py send "$LOCAL" "$BYTES" 1) MB/s"
for pid in "${PIDS[@]: -3}"; do kill -INT "$pid"; done
wait "${PIDS[@]: -3}" 2>/dev/null || true
for role in relay host guest; do
  echo; echo "== $role (self time, top 25) =="
  perf report -i "benchmarks/profile-$role.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E "^ +[0-9]" | head -25 || true
done
