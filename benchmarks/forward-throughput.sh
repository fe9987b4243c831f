#!/usr/bin/env bash
# Bulk throughput of one p22p forward next to a direct loopback connection,
# on this machine, in one run. Prints MB/s per run and the medians.
#   benchmarks/forward-throughput.sh [BYTES] [RUNS]     (default 1 GiB, 3 runs)
#   RELAY_ARGS="--threads 1" benchmarks/forward-throughput.sh   passes flags to the relay
set -euo pipefail
cd "$(dirname "$0")/.."
BYTES=${1:-1073741824}
RUNS=${2:-3}
swift build -c release --product p22p-server >/dev/null
swift build -c release --product p22p >/dev/null
BIN=.build/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1; }

RELAY=$(free_port); SINK=$(free_port); LOCAL=$(free_port)
python3 benchmarks/bulk.py sink "$SINK" > "$WORK/sink.log" & PIDS+=($!)
"$BIN/p22p-server" --listen "127.0.0.1:$RELAY" --log-level warning ${RELAY_ARGS:-} > "$WORK/relay.log" & PIDS+=($!)
export P22P_PASSWORD="benchmark password"
"$BIN/p22p" create bench --server "ws://127.0.0.1:$RELAY" --name host --allow "$SINK" > "$WORK/host.log" & PIDS+=($!)
wait_for "$WORK/host.log" "created group"
"$BIN/p22p" join bench --server "ws://127.0.0.1:$RELAY" --name guest --relay "host:$LOCAL:$SINK" > "$WORK/guest.log" & PIDS+=($!)
wait_for "$WORK/guest.log" "forwarding"
wait_for "$WORK/sink.log" "listening"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "direct loopback, $BYTES bytes x $RUNS:"
python3 benchmarks/bulk.py send "$SINK" "$BYTES" "$RUNS" | tee "$WORK/direct"
echo "through p22p (relay + 2 members), $BYTES bytes x $RUNS:"
python3 benchmarks/bulk.py send "$LOCAL" "$BYTES" "$RUNS" | tee "$WORK/p22p"
DIRECT=$(median < "$WORK/direct"); P22P=$(median < "$WORK/p22p")
echo
echo "| path | median MB/s |"
echo "| --- | --- |"
echo "| direct loopback | $DIRECT |"
echo "| p22p forward | $P22P |"
awk -v p="$P22P" -v d="$DIRECT" 'BEGIN { printf "p22p/direct = %.3f\n", p / d }'
