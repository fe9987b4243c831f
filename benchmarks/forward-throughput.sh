#!/usr/bin/env bash
# Bulk throughput of one p22p forward next to a direct loopback connection,
# on this machine, in one run. Prints MB/s per run and the medians, and the
# CPU seconds per GB of the relay and both members, which is steadier than
# MB/s on a shared machine.
#   benchmarks/forward-throughput.sh [BYTES] [RUNS]     (default 1 GiB, 3 runs)
#   RELAY_ARGS="--threads 1" benchmarks/forward-throughput.sh   passes flags to the relay
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-1073741824}
RUNS=${2:-3}
source benchmarks/lib/forward-setup.sh

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# utime + stime of the p22p processes, in clock ticks
ticks() { for pid in "$RELAY_PID" "$HOST_PID" "$GUEST_PID"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | paste -sd+ | bc; }
HZ=$(getconf CLK_TCK)

echo "direct loopback, $BYTES bytes x $RUNS:"
python3 benchmarks/bulk.py send "$SINK" "$BYTES" "$RUNS" | tee "$WORK/direct"
echo "through p22p (relay + 2 members), $BYTES bytes x $RUNS: MB/s, CPU s/GB"
for _ in $(seq "$RUNS"); do
  before=$(ticks)
  rate=$(python3 benchmarks/bulk.py send "$LOCAL" "$BYTES" 1)
  cpu=$(echo "scale=3; ($(ticks) - $before) / $HZ / ($BYTES / 1000000000)" | bc)
  echo "$rate $cpu" | tee -a "$WORK/p22p"
done
DIRECT=$(median < "$WORK/direct"); P22P=$(cut -d' ' -f1 "$WORK/p22p" | median); CPU=$(cut -d' ' -f2 "$WORK/p22p" | median)
echo
echo "| path | median MB/s | CPU s/GB |"
echo "| --- | --- | --- |"
echo "| direct loopback | $DIRECT | |"
echo "| p22p forward | $P22P | $CPU |"
awk -v p="$P22P" -v d="$DIRECT" 'BEGIN { printf "p22p/direct = %.3f\n", p / d }'
