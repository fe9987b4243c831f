# Sourced by forward-throughput.sh and profile.sh: builds p22p in release mode
# (unless P22P_BIN is set) and starts a target, a relay and two members with one forward to the target.
# The target is bulk.py's sink, or bench.py's echo/sink target with TARGET=echo.
# TRANSPORT=tcp connects the members over tcp:// instead of ws://.
# Sets SINK (the target's port), LOCAL (the forward's local port), WORK and
# RELAY_PID/HOST_PID/GUEST_PID; everything started is stopped by PID on exit.
# P22P_BIN=DIR uses binaries from DIR instead (to compare two builds in one
# session: copy one build's binaries aside first).
if [ -n "${P22P_BIN:-}" ]; then
  BIN=$P22P_BIN
else
  swift build -c release --product p22p-server >/dev/null
  swift build -c release --product p22p >/dev/null
  BIN=.build/release
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1; }

RELAY=$(free_port); SINK=$(free_port); LOCAL=$(free_port)
if [ "${TARGET:-sink}" = echo ]; then
  python3 benchmarks/bench.py target "$SINK" > "$WORK/sink.log" & PIDS+=($!)
else
  python3 benchmarks/bulk.py sink "$SINK" > "$WORK/sink.log" & PIDS+=($!)
fi
# TRANSPORT=tcp has both members reach the relay over tcp:// (--listen-tcp).
SERVER="ws://127.0.0.1:$RELAY"
LISTEN=(--listen "127.0.0.1:$RELAY")
if [ "${TRANSPORT:-ws}" = tcp ]; then
  STREAM=$(free_port)
  SERVER="tcp://127.0.0.1:$STREAM"
  LISTEN+=(--listen-tcp "127.0.0.1:$STREAM")
fi
"$BIN/p22p-server" "${LISTEN[@]}" --log-level warning ${RELAY_ARGS:-} > "$WORK/relay.log" & RELAY_PID=$!; PIDS+=($!)
# A one-shot create exits if the relay is not listening yet: wait for it.
wait_port() { python3 -c "
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(('127.0.0.1', $1), timeout=1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit('nothing listens on port $1')"; }
wait_port "$RELAY"
[ "${TRANSPORT:-ws}" = tcp ] && wait_port "$STREAM"
export P22P_PASSWORD="benchmark password"
"$BIN/p22p" create bench --server "$SERVER" --name host --allow "$SINK" > "$WORK/host.log" & HOST_PID=$!; PIDS+=($!)
wait_for "$WORK/host.log" "created group"
# COMPRESS=1 compresses the forward (--compress).
"$BIN/p22p" join bench --server "$SERVER" --name guest --relay "host:$LOCAL:$SINK" ${COMPRESS:+--compress} > "$WORK/guest.log" & GUEST_PID=$!; PIDS+=($!)
wait_for "$WORK/guest.log" "forwarding"
wait_for "$WORK/sink.log" "listening"
