#!/usr/bin/env bash
# Where the CPU goes through one p22p forward: perf records the relay and both
# members (call graphs) while traffic goes through, then prints the hottest
# symbols of each process and its self time by owner (kernel, SwiftNIO, p22p's
# own modules, the Swift runtime, libc and the rest).
#   benchmarks/profile.sh [BYTES]     bulk transfer (default 2 GiB; needs perf)
#   benchmarks/profile.sh rtt         30,000 round trips of 64 bytes
# The raw data stays in benchmarks/profile-*.data for `perf report -i`.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=bulk
if [ "${1:-}" = rtt ]; then MODE=rtt; TARGET=echo; fi
BYTES=${1:-2147483648}
source benchmarks/lib/forward-setup.sh
if [ "$MODE" = bulk ]; then
  python3 benchmarks/bulk.py send "$LOCAL" 67108864 1 >/dev/null   # warm up
fi
for role in relay host guest; do
  pid_var="${role^^}_PID"
  perf record -F 999 -g -o "benchmarks/profile-$role.data" -p "${!pid_var}" 2>"$WORK/perf-$role.log" & PIDS+=($!)
done
sleep 0.5
if [ "$MODE" = bulk ]; then
  echo "through p22p, $BYTES bytes: $(python3 benchmarks/bulk.py send "$LOCAL" "$BYTES" 1) MB/s"
else
  (cd benchmarks && python3 -c "
import bench
p50, p99 = bench.round_trips($LOCAL, 30000, 2000, 64)
print(f'through p22p, 30,000 round trips of 64 bytes: p50 {p50:.0f} µs, p99 {p99:.0f} µs')")
fi
for pid in "${PIDS[@]: -3}"; do kill -INT "$pid"; done
wait "${PIDS[@]: -3}" 2>/dev/null || true
for role in relay host guest; do
  report() { perf report -i "benchmarks/profile-$role.data" --no-children --sort symbol --stdio --call-graph=none 2>/dev/null | grep -E "^ +[0-9]"; }
  echo; echo "== $role (self time, top 25) =="
  report | head -25 || true
  # Swift symbols name their module after "$s<length>"; p22p's all start with P22P.
  report | awk '
    { share = $1; sub("%", "", share) }
    / \[k\] /                                     { owner["kernel"] += share; next }
    /\$s[0-9]+P22P|\$s[0-9]+p22p/                 { owner["p22p"] += share; next }
    /\$s[0-9]+_?NIO/                              { owner["SwiftNIO"] += share; next }
    /swift_|swift::|\$ss|__swift|getCache/       { owner["Swift runtime (ARC, exclusivity, metadata)"] += share; next }
    /scrypt|aes|gcm|EVP_|CRYPTO_/                 { owner["crypto (AES-GCM; scrypt at start)"] += share; next }
                                                  { owner["libc and other"] += share }
    END { printf "   by owner:"; for (o in owner) printf "  %s %.1f%%", o, owner[o]; print "" }' || true
done
