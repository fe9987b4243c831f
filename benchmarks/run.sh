#!/usr/bin/env bash
# p22p next to direct TCP and an OpenSSH relay, on loopback, in one run
# (issue 6). Builds p22p in release mode, installs OpenSSH from Debian
# packages if it is missing, then runs benchmarks/bench.py, which prints the
# table and writes benchmarks/results.md. See benchmarks/README.md.
#
#   benchmarks/run.sh [bench.py options]     e.g. --quick to try it out
#
# Needs root (a private sshd with PermitRootLogin, apt-get). Takes about
# 10 minutes. Every process it starts is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "== installing openssh-server, openssh-client"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
fi

echo "== swift build -c release"
swift build -c release

# 1,000 members or streams need a few thousand descriptors per process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then
    echo "warning: only $(ulimit -n) file descriptors per process; the 1,000-member/stream tests may fail" >&2
fi

WORK=$(mktemp -d /tmp/p22p-bench.XXXXXX)
export BENCH_PIDFILE="$WORK/pids"
: > "$BENCH_PIDFILE"
BENCH=""

cleanup() {
    status=$?
    trap - EXIT INT TERM
    if [ -n "$BENCH" ] && kill -0 "$BENCH" 2>/dev/null; then
        kill -TERM "$BENCH" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$BENCH" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BENCH" 2>/dev/null || true
    fi
    # Anything bench.py started and did not stop: by PID, and only if it is
    # still the same process (same start time).
    while read -r pid start; do
        [ -n "$pid" ] || continue
        if [ -r "/proc/$pid/stat" ]; then
            now=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $20}')
            if [ "$now" = "$start" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
        fi
    done < "$BENCH_PIDFILE"
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT INT TERM

echo "== benchmarks/bench.py (work directory $WORK)"
python3 benchmarks/bench.py --work "$WORK" "$@" &
BENCH=$!
wait "$BENCH"
