#!/usr/bin/env bash
# What any relay built of three forwarding processes pays for a round trip on
# this machine, before it does any work of its own: 64-byte round trips
# (bench.py's code) through three chained plain TCP forwarders, socat (C) and
# nio-hop (SwiftNIO, benchmarks/nio-floor), next to direct loopback, with the
# CPU each forwarder spends per round trip. Compare with latency.sh, which
# runs the same round trips through p22p's relay and two members.
#   benchmarks/round-trip-floor.sh     (installs socat with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")"
command -v socat >/dev/null || { apt-get update -qq && apt-get install -y -qq socat >/dev/null; }
(cd nio-floor && swift build -c release >/dev/null)
HOP=nio-floor/.build/release/nio-hop
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
TARGET=$(free_port)
python3 bench.py target "$TARGET" > /dev/null & PIDS+=($!)

# measure NAME PORT PID...: p50/p99 through PORT and CPU per round trip of each PID.
measure() {
  python3 - "$@" <<'PY'
import os, socket, sys, time
name, port, pids = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
for _ in range(100):
    try:
        c = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
message = b"x" * 64
def once():
    c.sendall(message); got = b""
    while len(got) < 64: got += c.recv(64)
for _ in range(1000): once()
before = {p: cpu(p) for p in pids}
n, times = 20000, []
for _ in range(n):
    t = time.perf_counter(); once(); times.append(time.perf_counter() - t)
times.sort()
per = " ".join(f"{(cpu(p) - before[p]) / n * 1e6:.1f}" for p in pids)
print(f"{name}: round trip p50 {times[n // 2] * 1e6:.0f} µs, p99 {times[int(n * 0.99)] * 1e6:.0f} µs"
      + (f"; CPU per round trip per forwarder {per} µs" if pids else ""))
PY
}

measure "direct" "$TARGET"
A=$(free_port); B=$(free_port); C=$(free_port)
socat TCP-LISTEN:$C,bind=127.0.0.1,reuseaddr,nodelay TCP:127.0.0.1:$TARGET,nodelay & S1=$!; PIDS+=($!)
socat TCP-LISTEN:$B,bind=127.0.0.1,reuseaddr,nodelay TCP:127.0.0.1:$C,nodelay & S2=$!; PIDS+=($!)
socat TCP-LISTEN:$A,bind=127.0.0.1,reuseaddr,nodelay TCP:127.0.0.1:$B,nodelay & S3=$!; PIDS+=($!)
sleep 0.5
measure "three socat" "$A" "$S3" "$S2" "$S1"
A=$(free_port); B=$(free_port); C=$(free_port)
$HOP "$C" "$TARGET" > /dev/null & N1=$!; PIDS+=($!)
$HOP "$B" "$C" > /dev/null & N2=$!; PIDS+=($!)
$HOP "$A" "$B" > /dev/null & N3=$!; PIDS+=($!)
sleep 0.5
measure "three nio-hop" "$A" "$N3" "$N2" "$N1"
