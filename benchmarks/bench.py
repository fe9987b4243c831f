#!/usr/bin/env python3
"""p22p next to direct TCP and an OpenSSH relay, on loopback, in one run.

  benchmarks/bench.py [--work DIR] [--out FILE] [--quick]
      Runs every metric (see benchmarks/README.md) against four setups:
      direct TCP, OpenSSH relay (default cipher), OpenSSH relay
      (aes128-gcm@openssh.com) and p22p (relay + two members + one forward).
      Prints the table and writes it as Markdown (default
      benchmarks/results.md; --quick runs tiny sizes and writes nothing
      unless --out is given). Normally started by benchmarks/run.sh, which
      builds p22p and installs OpenSSH first.

  benchmarks/bench.py target PORT
      (internal) The target server every setup forwards to: a connection
      whose first byte is 'S' is a sink (reads and discards, and on EOF
      answers with the byte count), any other is an echo; UDP datagrams to
      the same port number are echoed.

Python standard library only, except the 1,000-member memory test, which
needs the `cryptography` package for Ed25519 and HKDF (skipped with a
reason when it is missing).

Every process started is recorded (PID and start time) in $BENCH_PIDFILE so
that run.sh can stop leftovers by PID; bench.py itself stops everything it
started, by PID, on exit.
"""
import argparse
import asyncio
import base64
import datetime
import gc
import hashlib
import os
import re
import selectors
import shlex
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "benchmark password"
# The idle members speak this version of docs/PROTOCOL.md (the join is
# unchanged since version 2; version 3 added stream resumption).
PROTOCOL_VERSION = 3


class Sizes:
    """What issue 6 asks for. --quick shrinks it for trying the harness out."""
    reps = 3
    bulk_seconds = 10.0
    chunk = 256 * 1024
    streams = 8
    rtt_count = 20_000
    rtt_warmup = 500
    rtt_bytes = 64
    udp_count = 5_000
    udp_bulk_count = 2_000
    conn_total = 2_000
    conn_concurrency = 50
    idle_members = 1_000
    idle_groups = 100
    idle_streams = 1_000
    settle_seconds = 2.0

    @classmethod
    def quick(cls):
        cls.bulk_seconds = 1.0
        cls.rtt_count = 1_000
        cls.udp_count = 500
        cls.udp_bulk_count = 200
        cls.conn_total = 200
        cls.idle_members = 100
        cls.idle_groups = 10
        cls.idle_streams = 100


# --------------------------------------------------------------------------
# the target server (runs as its own process: `bench.py target PORT`)

def serve_udp_echo(port):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))

    def echo():
        while True:
            data, source = udp.recvfrom(65536)
            udp.sendto(data, source)
    threading.Thread(target=echo, daemon=True).start()


def serve_target(port):
    server = socket.create_server(("127.0.0.1", port), backlog=4096)
    serve_udp_echo(port)
    server.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    print("listening", flush=True)

    class Conn:
        __slots__ = ("sock", "mode", "count", "out", "closing", "reading")

    def close(conn):
        try:
            selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def update(conn):
        events = (selectors.EVENT_READ if conn.reading else 0) | (selectors.EVENT_WRITE if conn.out else 0)
        if events:
            selector.modify(conn.sock, events, conn)
        elif conn.closing:
            close(conn)

    def flush(conn):
        while conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except BlockingIOError:
                return
            except OSError:
                conn.out.clear()
                conn.closing = True
                conn.reading = False
                break
            del conn.out[:sent]
        if conn.closing and not conn.out:
            close(conn)
            return
        # echo backpressure: stop reading while much is unsent
        conn.reading = not conn.closing and len(conn.out) < (4 << 20)
        update(conn)

    while True:
        for key, events in selector.select():
            if key.data is None:
                for _ in range(256):
                    try:
                        sock, _ = server.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    sock.setblocking(False)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn = Conn()
                    conn.sock, conn.mode, conn.count, conn.out = sock, None, 0, bytearray()
                    conn.closing, conn.reading = False, True
                    selector.register(sock, selectors.EVENT_READ, conn)
                continue
            conn = key.data
            if events & selectors.EVENT_WRITE:
                flush(conn)
                if conn.sock.fileno() < 0:
                    continue
            if not (events & selectors.EVENT_READ) or not conn.reading:
                continue
            try:
                count = conn.sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                close(conn)
                continue
            if count == 0:
                conn.closing, conn.reading = True, False
                if conn.mode == "sink":
                    conn.out += f"{conn.count}\n".encode()
                flush(conn)
                continue
            if conn.mode is None:
                conn.mode = "sink" if buffer[0] == 0x53 else "echo"
            if conn.mode == "sink":
                conn.count += count
            else:
                conn.out += view[:count]
                flush(conn)


# --------------------------------------------------------------------------
# processes

def proc_stat(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid):
    try:
        fields = proc_stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(proc_stat(entry)[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def listening(port):
    """Whether something listens on TCP port `port` (from /proc/net/tcp*)."""
    wanted = f":{port:04X}"
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(wanted) and parts[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_busy_seconds():
    """user + nice + system time of the whole machine (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (fields[0] + fields[1] + fields[2]) / CLK_TCK


def busy_fraction(seconds):
    with open("/proc/stat") as f:
        a = [int(x) for x in f.readline().split()[1:]]
    time.sleep(seconds)
    with open("/proc/stat") as f:
        b = [int(x) for x in f.readline().split()[1:]]
    total = sum(b[:8]) - sum(a[:8])
    idle = (b[3] + b[4]) - (a[3] + a[4])
    return 1 - idle / total if total else 0.0


class Interference:
    """CPU used by processes that are not part of the benchmark while it
    measures (other people's builds, say): machine busy time (user + nice +
    system) minus what this process and everything it started used."""

    def __init__(self, procs):
        self.procs = procs
        self.worst = {}   # metric key -> highest foreign CPU share (in cores) of any measurement

    def ours(self):
        pids = set()
        for proc in self.procs.live:
            pids.add(proc.pid)
            pids.update(descendants(proc.pid))
        t = os.times()
        return t.user + t.system + sum(cpu_seconds(p) for p in pids), pids

    def watch(self, key, fn):
        busy0, (ours0, pids0) = cpu_busy_seconds(), self.ours()
        wall0 = time.monotonic()
        try:
            return fn()
        finally:
            wall = time.monotonic() - wall0
            ours1, pids1 = self.ours()
            busy = cpu_busy_seconds() - busy0
            if wall >= 1.0:  # /proc/stat counts 10 ms ticks per CPU: shorter windows are noise
                foreign = max(0.0, busy - (ours1 - ours0)) / wall
                self.worst[key] = max(self.worst.get(key, 0.0), foreign)


class Processes:
    """Every process the benchmark starts; stopped by PID, never by name."""

    def __init__(self, work, pidfile):
        self.work = work
        self.pidfile = pidfile
        self.live = []
        self.commands = []  # (label, argv) of everything started, for the report
        self.started = 0

    def start(self, label, argv, env=None):
        self.started += 1
        log = os.path.join(self.work, f"{self.started:03d}-{label}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=ROOT)
        proc.label, proc.log = label, log
        self.live.append(proc)
        if label not in [l for l, _ in self.commands]:
            self.commands.append((label, argv))
        if self.pidfile:
            try:
                with open(self.pidfile, "a") as f:
                    f.write(f"{proc.pid} {proc_stat(proc.pid)[19]}\n")
            except (OSError, IndexError):
                pass
        return proc

    def stop(self, proc, extra_pids=()):
        """SIGTERM, up to 5 s, then SIGKILL; `extra_pids` (e.g. sshd's session
        processes, found by parent PID) are signalled after it."""
        if proc in self.live:
            self.live.remove(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in extra_pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        for pid in extra_pids:
            while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
                try:
                    if proc_stat(pid)[0] == "Z":
                        break
                except OSError:
                    break
                time.sleep(0.05)
            try:
                if os.path.exists(f"/proc/{pid}") and proc_stat(pid)[0] != "Z":
                    os.kill(pid, signal.SIGKILL)
            except (OSError, IndexError):
                pass

    def stop_all(self):
        for proc in reversed(list(self.live)):
            try:
                self.stop(proc)
            except Exception:
                pass


def wait_for(predicate, what, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: {proc.label} exited with {proc.returncode}; log: {tail(proc.log)}")
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}"
                       + (f"; log: {tail(proc.log)}" if proc is not None else ""))


def tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def log_match(path, pattern):
    try:
        with open(path, errors="replace") as f:
            return re.search(pattern, f.read())
    except OSError:
        return None


# --------------------------------------------------------------------------
# setups: each gives a local port that reaches the target

class Direct:
    key, title = "direct", "direct"

    def __init__(self, target_port):
        self.port = target_port
        self.udp_port = target_port

    def start(self):
        pass

    def stop(self):
        pass

    def cpu_pids(self):
        return []

    def relay_pids(self):
        return []


class OpenSSH:
    """A private sshd on a high port; `ssh -N -R` exposes the target on the
    sshd side, `ssh -N -L` makes it reachable locally, both to that sshd."""

    def __init__(self, procs, work, target_port, cipher=None, tag="ssh"):
        self.procs, self.target, self.cipher, self.tag = procs, target_port, cipher, tag
        self.key = "ssh-gcm" if cipher else "ssh-default"
        self.title = f"OpenSSH ({'aes128-gcm' if cipher else 'default'})"
        self.dir = os.path.join(work, "ssh")
        self.sshd = self.r = self.l = None

    @staticmethod
    def prepare(work):
        d = os.path.join(work, "ssh")
        if os.path.exists(os.path.join(d, "client_key")):
            return d
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        for name in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, name)],
                           check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "client_key.pub")) as f, open(os.path.join(d, "authorized_keys"), "w") as out:
            out.write(f.read())
        return d

    def start(self):
        d = self.prepare(os.path.dirname(self.dir))
        self.ssh_port, self.rport, self.port = free_port(), free_port(), free_port()
        config = os.path.join(d, f"sshd_config_{self.tag}")
        with open(config, "w") as f:
            f.write(f"""Port {self.ssh_port}
ListenAddress 127.0.0.1
HostKey {d}/host_key
PidFile {d}/sshd_{self.tag}.pid
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin yes
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
GatewayPorts no
UseDNS no
MaxStartups 100
PrintMotd no
LogLevel ERROR
""")
        self.sshd = self.procs.start(f"sshd-{self.tag}", ["/usr/sbin/sshd", "-D", "-e", "-f", config])
        wait_for(lambda: listening(self.ssh_port), f"sshd on port {self.ssh_port}", proc=self.sshd)
        common = ["ssh", "-F", "/dev/null", "-N", "-p", str(self.ssh_port),
                  "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                  "-o", "IdentitiesOnly=yes", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                  "-i", os.path.join(d, "client_key")]
        if self.cipher:
            common += ["-c", self.cipher]
        self.r = self.procs.start(f"ssh-R-{self.tag}", common + ["-R", f"{self.rport}:127.0.0.1:{self.target}", "root@127.0.0.1"])
        wait_for(lambda: listening(self.rport), f"ssh -R port {self.rport}", proc=self.r)
        self.l = self.procs.start(f"ssh-L-{self.tag}", common + ["-L", f"{self.port}:127.0.0.1:{self.rport}", "root@127.0.0.1"])
        wait_for(lambda: listening(self.port), f"ssh -L port {self.port}", proc=self.l)

    def sshd_pids(self):
        return [self.sshd.pid] + descendants(self.sshd.pid)

    def cpu_pids(self):
        return [self.r.pid, self.l.pid] + self.sshd_pids()

    def relay_pids(self):
        return self.sshd_pids()

    def stop(self):
        for proc in (self.l, self.r):
            if proc is not None:
                self.procs.stop(proc)
        if self.sshd is not None:
            sessions = descendants(self.sshd.pid)
            self.procs.stop(self.sshd, extra_pids=sessions)
        self.sshd = self.r = self.l = None


class P22P:
    """One relay, a member `host` that allows the target, a member `guest`
    forwarding a local port to it. Both members reach the relay over a
    WebSocket (ws://), or with `transport="tcp"` over p22p's stream framing on
    the relay's --listen-tcp port (tcp://)."""

    def __init__(self, procs, target_port, tag="p22p", transport="ws"):
        self.procs, self.target, self.tag, self.transport = procs, target_port, tag, transport
        self.key = "p22p" if transport == "ws" else "p22p-tcp"
        self.title = "p22p" if transport == "ws" else "p22p tcp://"
        self.relay = self.host = self.guest = None
        self.udp_port = None

    def start(self):
        self.relay_port = free_port()
        argv = [f"{BIN}/p22p-server", "--listen", f"127.0.0.1:{self.relay_port}"]
        server = f"ws://127.0.0.1:{self.relay_port}"
        if self.transport == "tcp":
            stream_port = free_port()
            argv += ["--listen-tcp", f"127.0.0.1:{stream_port}"]
            server = f"tcp://127.0.0.1:{stream_port}"
        env = dict(os.environ, P22P_PASSWORD=PASSWORD)
        self.relay = self.procs.start(f"relay-{self.tag}", argv)
        wait_for(lambda: listening(self.relay_port), f"p22p-server on port {self.relay_port}", proc=self.relay)
        if self.transport == "tcp":
            wait_for(lambda: listening(stream_port), f"p22p-server's tcp:// port {stream_port}", proc=self.relay)
        self.host = self.procs.start(f"host-{self.tag}", [f"{BIN}/p22p", "create", "bench", "--server", server,
                                                          "--name", "host", "--allow", str(self.target),
                                                          "--allow", f"{self.target}/udp"], env=env)
        wait_for(lambda: log_match(self.host.log, r"created group"), "p22p create", proc=self.host)
        self.guest = self.procs.start(f"guest-{self.tag}", [f"{BIN}/p22p", "join", "bench", "--server", server,
                                                            "--name", "guest", "--relay", f"host:0:{self.target}",
                                                            "--relay", f"host:0:{self.target}/udp"], env=env)
        match = wait_for(lambda: log_match(self.guest.log, r"forwarding 127\.0\.0\.1:(\d+)"), "p22p join forward",
                         proc=self.guest)
        self.port = int(match.group(1))
        match = wait_for(lambda: log_match(self.guest.log, r"forwarding UDP 127\.0\.0\.1:(\d+)"), "p22p join UDP forward",
                         proc=self.guest)
        self.udp_port = int(match.group(1))
        # The listener is bound before the join; wait for the join itself, so
        # nothing measured later includes the password derivation (scrypt
        # holds 128 MiB while it runs).
        wait_for(lambda: log_match(self.guest.log, r"joined group"), "p22p join", proc=self.guest)

    def cpu_pids(self):
        return [self.relay.pid, self.host.pid, self.guest.pid]

    def relay_pids(self):
        return [self.relay.pid]

    def stop(self):
        for proc in (self.guest, self.host, self.relay):
            if proc is not None:
                self.procs.stop(proc)
        self.relay = self.host = self.guest = None


# --------------------------------------------------------------------------
# metrics

def bulk(port, streams, seconds, chunk):
    """`streams` connections, each sending `chunk`-byte writes for `seconds`,
    then a half-close; the sink answers with what it received. Returns
    (total bytes the sink received, seconds from the first write to the last answer)."""
    payload = b"S" + bytes(chunk - 1)
    barrier = threading.Barrier(streams + 1)
    results, errors = [None] * streams, []
    socks = []
    for _ in range(streams):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(s)

    def worker(i, s):
        try:
            barrier.wait(30)
            started = time.monotonic()
            deadline = started + seconds
            sent = 0
            while time.monotonic() < deadline:
                s.sendall(payload)
                sent += chunk
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while not answer.endswith(b"\n"):
                piece = s.recv(64)
                if not piece:
                    raise RuntimeError(f"stream {i}: connection closed before the sink's count")
                answer += piece
            received = int(answer)
            if received != sent:
                raise RuntimeError(f"stream {i}: sink received {received} bytes, {sent} sent")
            results[i] = (received, started, time.monotonic())
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(i, s), daemon=True) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    barrier.wait(30)
    for t in threads:
        t.join(seconds + 120)
    if any(t.is_alive() for t in threads):
        raise RuntimeError("a bulk stream did not finish within 120 s of its deadline")
    if errors:
        raise RuntimeError(errors[0])
    total = sum(r[0] for r in results)
    return total, max(r[2] for r in results) - min(r[1] for r in results)


def round_trips(port, count, warmup, size):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message = b"P" * size
    buffer = bytearray(size)
    view = memoryview(buffer)
    samples = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for i in range(warmup + count):
            started = clock()
            s.sendall(message)
            got = 0
            while got < size:
                n = s.recv_into(view[got:])
                if n == 0:
                    raise RuntimeError(f"connection closed after {i} round trips")
                got += n
            elapsed = clock() - started
            if i >= warmup:
                samples.append(elapsed)
    finally:
        gc.enable()
        s.close()
    if buffer != message:
        raise RuntimeError("echo returned different bytes")
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] / 1000
    return pick(0.50), pick(0.99)


def udp_round_trips(port, count, warmup, size, until=None):
    """One datagram of `size` bytes at a time to `port`, waiting for its echo
    (250 ms at most: then it counts as lost). Stops early when `until` is set.
    Returns (p50 µs, p99 µs, lost)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.25)
    samples, lost = [], 0
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for i in range(warmup + count):
            if until is not None and until.is_set():
                break
            message = struct.pack(">I", i) + b"U" * (size - 4)
            started = clock()
            s.sendto(message, ("127.0.0.1", port))
            try:
                while s.recv(65536) != message:
                    pass   # a late echo of an earlier, lost datagram
            except socket.timeout:
                lost += 1
                continue
            if i >= warmup:
                samples.append(clock() - started)
    finally:
        gc.enable()
        s.close()
    if not samples:
        raise RuntimeError(f"no UDP datagram came back ({lost} lost)")
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] / 1000
    return pick(0.50), pick(0.99), lost


def udp_round_trips_during_bulk(setup):
    """UDP round trips while one bulk TCP stream runs through the same
    setup (the same link, for p22p). Returns (p50 µs, lost, MB/s of the bulk stream)."""
    done = threading.Event()
    moved = {}

    def transfer():
        try:
            moved["result"] = bulk(setup.port, 1, Sizes.bulk_seconds, Sizes.chunk)
        except Exception as e:
            moved["error"] = e
        finally:
            done.set()
    thread = threading.Thread(target=transfer, daemon=True)
    thread.start()
    time.sleep(min(1.0, Sizes.bulk_seconds / 4))   # the transfer in full swing
    p50, _, lost = udp_round_trips(setup.udp_port, Sizes.udp_bulk_count, 0, Sizes.rtt_bytes, until=done)
    thread.join(Sizes.bulk_seconds + 130)
    if "error" in moved:
        raise moved["error"]
    if done.is_set() and "result" not in moved:
        raise RuntimeError("the bulk transfer gave no result")
    total, seconds = moved["result"]
    return p50, lost, total / seconds / 1e6


def connection_rate(port, total, concurrency):
    """`concurrency` threads open, 1-byte echo and close `total` connections."""
    lock = threading.Lock()
    state = {"next": 0, "ok": 0}
    errors = []

    def worker():
        while True:
            with lock:
                if state["next"] >= total:
                    return
                state["next"] += 1
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                try:
                    s.sendall(b"x")
                    if s.recv(1) != b"x":
                        raise RuntimeError("no echo")
                finally:
                    s.close()
                with lock:
                    state["ok"] += 1
            except Exception as e:
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    elapsed = time.monotonic() - started
    if any(t.is_alive() for t in threads):
        raise RuntimeError("connection-rate workers still running after 300 s")
    if errors:
        raise RuntimeError(f"{len(errors)} of {total} connections failed, e.g. {errors[0]}")
    return state["ok"] / elapsed


async def open_idle_streams(port, count, concurrency=50):
    """Opens `count` connections, each with a 1-byte echo so the whole path is up."""
    sem = asyncio.Semaphore(concurrency)
    writers, errors = [], []

    async def one():
        async with sem:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
                writer.write(b"x")
                await writer.drain()
                await asyncio.wait_for(reader.readexactly(1), 15)
                writers.append(writer)
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")

    await asyncio.gather(*(one() for _ in range(count)))
    return writers, errors


async def close_all(writers):
    for w in writers:
        w.close()
    await asyncio.sleep(0.5)


def idle_streams_memory(setup, count, settle):
    """RSS of the setup's relay process(es), and of all its forwarding
    processes, before and with `count` idle streams."""
    def measure_rss():
        return (sum(rss_bytes(p) for p in setup.relay_pids()), sum(rss_bytes(p) for p in set(setup.cpu_pids())))
    before = measure_rss()

    async def run():
        writers, errors = await open_idle_streams(setup.port, count)
        try:
            if errors:
                raise RuntimeError(f"{len(errors)} of {count} streams failed to open, e.g. {errors[0]}")
            await asyncio.sleep(settle)
            return measure_rss()
        finally:
            await close_all(writers)

    with_streams = asyncio.run(run())
    return before, with_streams


# --- a minimal p22p member over WebSocket, for 1,000 idle members

class GroupKeys:
    """A group as its creator sets it up (protocol version 2 and later): a random salt,
    and the scrypt cost the creator chose. The benchmark's groups use a low
    cost (the relay only stores it) so that 100 groups derive quickly; the
    known-answer check below uses the standard one."""

    def __init__(self, group, password, salt=None, log_n=10):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        from cryptography.hazmat.primitives import serialization
        self.group = group
        salt = os.urandom(16) if salt is None else salt
        self.derivation = salt + bytes([log_n, 8, 1])
        master = hashlib.scrypt(password.encode(), salt=b"p22p-group-v2:" + sstr(group) + salt,
                                n=1 << log_n, r=8, p=1, maxmem=256 << 20, dklen=32)
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"p22p-auth-key-v1").derive(master)
        self.private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.route = hashlib.sha256(b"p22p-route-v1:" + group.encode()).hexdigest()[:16]


def check_key_derivation():
    """The known-answer vector of docs/PROTOCOL.md (appendix)."""
    keys = GroupKeys("demo", "correct horse battery staple", salt=bytes(range(16)), log_n=17)
    assert keys.public.hex() == "58403d8fef713b53214c83ea5db56d4e19b5ab4da4159e6ee8343ad37a1b64e8", keys.public.hex()


def ws_frame(opcode, payload):
    """A client WebSocket frame (FIN, masked)."""
    n = len(payload)
    head = bytearray([0x80 | opcode])
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big") if n else b""
    return bytes(head) + mask + masked


async def ws_read(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    data = await reader.readexactly(n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return b0 & 0x0F, data


async def ws_keep(reader, writer):
    """After admission: read (and drop) roster news, answer pings."""
    try:
        while True:
            opcode, data = await ws_read(reader)
            if opcode == 0x9:
                writer.write(ws_frame(0xA, data))
            elif opcode == 0x8:
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        return


def sstr(text):
    raw = text.encode()
    return bytes([len(raw)]) + raw


async def ws_member(port, keys, name, create):
    """Connects, creates or joins `keys.group` as `name`; returns (writer, keeper task)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    try:
        nonce = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /v1/{keys.route} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Sec-WebSocket-Protocol: p22p.v1\r\nContent-Length: 0\r\n\r\n").encode())
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode(errors="replace")
        if not head.startswith("HTTP/1.1 101") or "p22p.v1" not in head:
            raise RuntimeError(f"upgrade refused: {head.splitlines()[0] if head else '(nothing)'}")
        accept = base64.b64encode(hashlib.sha1((nonce + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if accept not in head:
            raise RuntimeError("bad Sec-WebSocket-Accept")
        while True:
            opcode, hello = await asyncio.wait_for(ws_read(reader), 10)
            if opcode == 0x2:
                break
        if len(hello) < 39 or hello[0] != 0x01 or hello[1] != PROTOCOL_VERSION:
            raise RuntimeError(f"unexpected hello {hello[:2].hex()} ({len(hello)} bytes)")
        challenge = hello[2:34]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives import serialization
        identity = Ed25519PrivateKey.generate()
        member_key = identity.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        group_bytes = sstr(keys.group)
        name_bytes = sstr(name)
        created = keys.derivation + keys.public if create else b""
        transcript = b"p22p-auth-v2" + challenge + bytes([1 if create else 2]) + group_bytes + name_bytes + member_key + created
        message = (bytes([0x10 if create else 0x11, PROTOCOL_VERSION]) + group_bytes + name_bytes + member_key + created
                   + keys.private.sign(transcript) + identity.sign(transcript) + b"\x00\x00")
        writer.write(ws_frame(0x2, message))
        while True:
            opcode, data = await asyncio.wait_for(ws_read(reader), 15)
            if opcode == 0x9:
                writer.write(ws_frame(0xA, data))
            elif opcode == 0x8:
                raise RuntimeError(f"closed by the relay: {data[2:].decode(errors='replace')}")
            elif opcode == 0x2 and data[:1] == b"\x02":
                break
            elif opcode == 0x2 and data[:1] == b"\x05":
                code = struct.unpack(">H", data[1:3])[0]
                raise RuntimeError(f"refused ({code}): {data[5:].decode(errors='replace')}")
        return writer, asyncio.ensure_future(ws_keep(reader, writer))
    except BaseException:
        writer.close()
        raise


def idle_members_memory(procs, keys_by_group, per_group, settle, tag):
    """A fresh relay; RSS before, and with len(keys_by_group) * per_group members admitted."""
    port = free_port()
    # Every member comes from 127.0.0.1 here: the per-address limits that
    # protect a public relay would refuse all but 64 connections and 10
    # groups a minute.
    relay = procs.start(f"relay-{tag}", [f"{BIN}/p22p-server", "--listen", f"127.0.0.1:{port}",
                                         "--max-connections-per-address", str(2 * Sizes.idle_members),
                                         "--groups-per-minute", str(2 * Sizes.idle_groups)])
    try:
        wait_for(lambda: listening(port), "p22p-server", proc=relay)
        time.sleep(0.5)
        before = rss_bytes(relay.pid)

        async def run():
            sem = asyncio.Semaphore(50)
            members, errors = [], []

            async def one(keys, name, create):
                async with sem:
                    try:
                        members.append(await ws_member(port, keys, name, create))
                    except Exception as e:
                        errors.append(f"{type(e).__name__}: {e}")

            try:
                await asyncio.gather(*(one(k, "m0", True) for k in keys_by_group))
                if not errors:
                    await asyncio.gather(*(one(k, f"m{i}", False) for k in keys_by_group for i in range(1, per_group)))
                if errors:
                    raise RuntimeError(f"{len(errors)} members failed to join, e.g. {errors[0]}")
                await asyncio.sleep(settle)
                if relay.poll() is not None:
                    raise RuntimeError(f"relay exited: {tail(relay.log)}")
                return len(members), rss_bytes(relay.pid)
            finally:
                for writer, task in members:
                    task.cancel()
                    writer.close()
                await asyncio.sleep(0.2)

        admitted, loaded = asyncio.run(run())
        return before, loaded, admitted
    finally:
        procs.stop(relay)


# --------------------------------------------------------------------------
# the run

class Metric:
    def __init__(self, key, title, unit, fmt, better):
        self.key, self.title, self.unit, self.fmt, self.better = key, title, unit, fmt, better
        self.samples = {}   # setup key -> [values]
        self.errors = {}    # setup key -> [messages]
        self.notes = {}     # setup key -> text shown instead of a value

    def add(self, setup, value):
        self.samples.setdefault(setup, []).append(value)

    def fail(self, setup, message):
        self.errors.setdefault(setup, []).append(message)

    def value(self, setup):
        values = self.samples.get(setup)
        return statistics.median(values) if values else None


def measure(metric, setup_key, fn):
    try:
        result = fn()
        metric.add(setup_key, result)
        return result
    except Exception as e:
        metric.fail(setup_key, f"{type(e).__name__}: {e}")
        say(f"    {metric.key} {setup_key}: FAILED: {e}")
        return None


def say(text):
    print(text, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--out", help="Markdown file to write (default benchmarks/results.md; none with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to try the harness out")
    parser.add_argument("--wait-idle", type=float, default=300,
                        help="wait up to this many seconds for the machine to be idle before measuring (default 300)")
    args = parser.parse_args()
    if args.quick:
        Sizes.quick()
        out = args.out
    else:
        out = args.out or os.path.join(ROOT, "benchmarks", "results.md")
    work = args.work or tempfile.mkdtemp(prefix="p22p-bench-")
    os.makedirs(work, exist_ok=True)
    procs = Processes(work, os.environ.get("BENCH_PIDFILE"))

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        run(procs, work, out, args.quick, args.wait_idle)
    finally:
        procs.stop_all()


def build_info():
    """Which p22p was measured: commit, uncommitted source changes, binary build time (read-only git)."""
    def git(*args):
        try:
            return subprocess.run(["git", "--no-optional-locks", "-C", ROOT, *args], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except Exception:
            return ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved")
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(os.path.join(BIN, "p22p-server")),
                                                datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        built = "unknown"
    changes = f"uncommitted changes in {len(dirty.splitlines())} source file(s)" if dirty else "no uncommitted source changes"
    return f"commit {commit}, {changes}; binaries built {built}"


def wait_until_idle(limit):
    """Waits (at most `limit` seconds) until the machine is nearly idle: other
    people's work would skew every number. Returns the busy share last seen."""
    deadline = time.monotonic() + limit
    busy = busy_fraction(3)
    while busy > 0.10 and time.monotonic() < deadline:
        say(f"machine {busy:.0%} busy with other work; waiting for it to settle "
            f"(at most {max(0, deadline - time.monotonic()):.0f} s more)")
        time.sleep(10)
        busy = busy_fraction(3)
    return busy


def run(procs, work, out, quick, wait_idle):
    idle_busy = wait_until_idle(wait_idle)
    load_start = open("/proc/loadavg").read().split()[:3]
    built = build_info()
    started_at = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    target_port = free_port()
    target = procs.start("target", [sys.executable, os.path.abspath(__file__), "target", str(target_port)])
    wait_for(lambda: log_match(target.log, "listening"), "target server", proc=target)
    for binary in ("p22p-server", "p22p"):
        if not os.access(os.path.join(BIN, binary), os.X_OK):
            raise SystemExit(f"{BIN}/{binary} is missing: build with swift build -c release")

    setups = [Direct(target_port),
              OpenSSH(procs, work, target_port, None, "default"),
              OpenSSH(procs, work, target_port, "aes128-gcm@openssh.com", "gcm"),
              P22P(procs, target_port),
              P22P(procs, target_port, "p22p-tcp", transport="tcp")]
    unavailable = {}
    for setup in setups:
        try:
            setup.start()
        except Exception as e:
            unavailable[setup.key] = f"setup failed: {e}"
            say(f"{setup.title}: setup failed: {e}")
            try:
                setup.stop()
            except Exception:
                pass
    live = [s for s in setups if s.key not in unavailable]
    keys = [s.key for s in setups]
    titles = {s.key: s.title for s in setups}

    m = {
        "tp1": Metric("tp1", "throughput, 1 stream", "MB/s", "{:.0f}", "higher"),
        "tp8": Metric("tp8", "throughput, 8 streams", "MB/s", "{:.0f}", "higher"),
        "rtt50": Metric("rtt50", "round trip p50", "µs", "{:.0f}", "lower"),
        "rtt99": Metric("rtt99", "round trip p99", "µs", "{:.0f}", "lower"),
        "conn": Metric("conn", "connection rate", "conn/s", "{:.0f}", "higher"),
        "udp50": Metric("udp50", "UDP round trip p50", "µs", "{:.0f}", "lower"),
        "udp99": Metric("udp99", "UDP round trip p99", "µs", "{:.0f}", "lower"),
        "udpbulk50": Metric("udpbulk50", "UDP round trip p50 during a 1-stream bulk TCP transfer", "µs", "{:.0f}", "lower"),
        "cpu": Metric("cpu", "CPU cost (1-stream test)", "CPU s/GB", "{:.2f}", "lower"),
        "mem_members": Metric("mem_members", f"relay RSS, {Sizes.idle_members:,} idle members in {Sizes.idle_groups} groups", "MiB", "{:.1f}", "lower"),
        "per_member": Metric("per_member", "relay memory per idle member", "KiB", "{:.1f}", "lower"),
        "mem_streams": Metric("mem_streams", f"relay RSS, {Sizes.idle_streams:,} idle streams", "MiB", "{:.1f}", "lower"),
        "per_stream": Metric("per_stream", "relay memory per idle stream", "KiB", "{:.1f}", "lower"),
        "all_streams": Metric("all_streams", f"RSS of all forwarding processes, {Sizes.idle_streams:,} idle streams", "MiB", "{:.1f}", "lower"),
        "all_per_stream": Metric("all_per_stream", "all forwarding processes, memory per idle stream", "KiB", "{:.1f}", "lower"),
    }
    watch = Interference(procs)
    for key, reason in unavailable.items():
        for metric in m.values():
            metric.notes[key] = "n/a"
            metric.fail(key, reason)
    for metric in ("cpu", "mem_members", "per_member", "mem_streams", "per_stream", "all_streams", "all_per_stream"):
        m[metric].notes["direct"] = "—"
    for metric in ("udp50", "udp99", "udpbulk50"):
        for key in ("ssh-default", "ssh-gcm"):
            m[metric].notes[key] = "n/a"
            m[metric].fail(key, "not measured: OpenSSH forwards TCP only, so it is no peer for UDP")
    # Memory is the same relay and members whatever the transport: measured once, over ws://.
    for metric in ("mem_members", "per_member", "mem_streams", "per_stream", "all_streams", "all_per_stream"):
        m[metric].notes["p22p-tcp"] = "—"
    gb_moved = {}

    # --- throughput, 1 stream (+ CPU), interleaved by repetition
    for rep in range(Sizes.reps):
        for setup in live:
            pids = setup.cpu_pids()
            cpu_before = {p: cpu_seconds(p) for p in pids}

            def one_stream():
                moved, seconds = bulk(setup.port, 1, Sizes.bulk_seconds, Sizes.chunk)
                gb_moved.setdefault(setup.key, []).append(moved / 1e9)
                return moved / seconds / 1e6
            mbps = measure(m["tp1"], setup.key, lambda: watch.watch("tp1", one_stream))
            if mbps is not None and pids:
                after_pids = set(pids) | set(setup.cpu_pids())
                used = sum(cpu_seconds(p) - cpu_before.get(p, 0.0) for p in after_pids)
                m["cpu"].add(setup.key, used / gb_moved[setup.key][-1])
            say(f"  tp1   rep {rep + 1} {setup.title:22} {fmt_opt(mbps, '{:.0f} MB/s')}")
    for rep in range(Sizes.reps):
        for setup in live:
            r = measure(m["tp8"], setup.key, lambda: watch.watch("tp8", lambda: (lambda t: t[0] / t[1] / 1e6)(
                bulk(setup.port, Sizes.streams, Sizes.bulk_seconds, Sizes.chunk))))
            say(f"  tp8   rep {rep + 1} {setup.title:22} {fmt_opt(r, '{:.0f} MB/s')}")
    for rep in range(Sizes.reps):
        for setup in live:
            try:
                p50, p99 = watch.watch("rtt50", lambda: round_trips(setup.port, Sizes.rtt_count, Sizes.rtt_warmup, Sizes.rtt_bytes))
                m["rtt50"].add(setup.key, p50)
                m["rtt99"].add(setup.key, p99)
                say(f"  rtt   rep {rep + 1} {setup.title:22} p50 {p50:.0f} µs  p99 {p99:.0f} µs")
            except Exception as e:
                for k in ("rtt50", "rtt99"):
                    m[k].fail(setup.key, f"{type(e).__name__}: {e}")
                say(f"  rtt   rep {rep + 1} {setup.title:22} FAILED: {e}")
    udp_live = [s for s in live if getattr(s, "udp_port", None)]
    for rep in range(Sizes.reps):
        for setup in udp_live:
            try:
                p50, p99, lost = watch.watch("udp50", lambda: udp_round_trips(setup.udp_port, Sizes.udp_count, 200, Sizes.rtt_bytes))
                m["udp50"].add(setup.key, p50)
                m["udp99"].add(setup.key, p99)
                say(f"  udp   rep {rep + 1} {setup.title:22} p50 {p50:.0f} µs  p99 {p99:.0f} µs  ({lost} lost)")
            except Exception as e:
                for k in ("udp50", "udp99"):
                    m[k].fail(setup.key, f"{type(e).__name__}: {e}")
                say(f"  udp   rep {rep + 1} {setup.title:22} FAILED: {e}")
    for rep in range(Sizes.reps):
        for setup in udp_live:
            try:
                p50, lost, rate = watch.watch("udpbulk50", lambda: udp_round_trips_during_bulk(setup))
                m["udpbulk50"].add(setup.key, p50)
                say(f"  udp+bulk rep {rep + 1} {setup.title:19} p50 {p50:.0f} µs ({lost} lost) beside {rate:.0f} MB/s of TCP")
            except Exception as e:
                m["udpbulk50"].fail(setup.key, f"{type(e).__name__}: {e}")
                say(f"  udp+bulk rep {rep + 1} {setup.title:19} FAILED: {e}")
    for rep in range(Sizes.reps):
        for setup in live:
            r = measure(m["conn"], setup.key, lambda: watch.watch("conn", lambda: connection_rate(setup.port, Sizes.conn_total, Sizes.conn_concurrency)))
            say(f"  conn  rep {rep + 1} {setup.title:22} {fmt_opt(r, '{:.0f} conn/s')}")
    for setup in setups:
        try:
            setup.stop()
        except Exception as e:
            say(f"stopping {setup.title}: {e}")

    # --- relay memory with idle streams: fresh processes per repetition
    session_rss = []  # RSS of the sshd processes of one idle ssh connection
    for rep in range(Sizes.reps):
        for make in (lambda: OpenSSH(procs, work, target_port, None, "mem-default"),
                     lambda: OpenSSH(procs, work, target_port, "aes128-gcm@openssh.com", "mem-gcm"),
                     lambda: P22P(procs, target_port, "mem")):
            setup = make()
            if setup.key in unavailable:
                continue
            try:
                setup.start()
                time.sleep(0.5)
                if isinstance(setup, OpenSSH):
                    session_rss.append(sum(rss_bytes(p) for p in descendants(setup.sshd.pid)) / 2)
                (before, all_before), (loaded, all_loaded) = idle_streams_memory(setup, Sizes.idle_streams,
                                                                                  Sizes.settle_seconds)
                m["mem_streams"].add(setup.key, loaded / 2**20)
                m["per_stream"].add(setup.key, (loaded - before) / Sizes.idle_streams / 1024)
                m["all_streams"].add(setup.key, all_loaded / 2**20)
                m["all_per_stream"].add(setup.key, (all_loaded - all_before) / Sizes.idle_streams / 1024)
                say(f"  mem-streams rep {rep + 1} {setup.title:22} relay {before / 2**20:.1f} -> {loaded / 2**20:.1f} MiB, "
                    f"all forwarding processes {all_before / 2**20:.1f} -> {all_loaded / 2**20:.1f} MiB")
            except Exception as e:
                for k in ("mem_streams", "per_stream", "all_streams", "all_per_stream"):
                    m[k].fail(setup.key, f"{type(e).__name__}: {e}")
                say(f"  mem-streams rep {rep + 1} {setup.title:22} FAILED: {e}")
            finally:
                setup.stop()

    # --- relay memory with idle members (p22p only; sshd: one session per member)
    for key in ("ssh-default", "ssh-gcm"):
        for k in ("mem_members", "per_member"):
            m[k].notes[key] = "n/a"
            m[k].fail(key, "not measured: with OpenSSH every member is an ssh client of its own plus an sshd "
                           "session (two sshd processes per connection"
                           + (f", {statistics.median(session_rss) / 2**20:.1f} MiB RSS together for one idle "
                              "connection here" if session_rss else "") + "), not a member of one shared relay process")
    try:
        check_key_derivation()
        derive_started = time.monotonic()
        groups = [GroupKeys(f"bench-{i:03d}", PASSWORD) for i in range(Sizes.idle_groups)]
        say(f"  derived keys for {len(groups)} groups in {time.monotonic() - derive_started:.1f} s")
        per_group = Sizes.idle_members // Sizes.idle_groups
        for rep in range(Sizes.reps):
            try:
                before, loaded, admitted = idle_members_memory(procs, groups, per_group, Sizes.settle_seconds, "members")
                m["mem_members"].add("p22p", loaded / 2**20)
                m["per_member"].add("p22p", (loaded - before) / admitted / 1024)
                say(f"  mem-members rep {rep + 1} {admitted} members: {before / 2**20:.1f} -> {loaded / 2**20:.1f} MiB")
            except Exception as e:
                for k in ("mem_members", "per_member"):
                    m[k].fail("p22p", f"{type(e).__name__}: {e}")
                say(f"  mem-members rep {rep + 1} FAILED: {e}")
    except Exception as e:
        for k in ("mem_members", "per_member"):
            m[k].fail("p22p", f"{type(e).__name__}: {e}")
        say(f"  mem-members: skipped: {e}")

    elapsed = time.monotonic() - t_start
    load_end = open("/proc/loadavg").read().split()[:3]
    report = render(m, keys, titles, procs, started_at, elapsed, quick,
                    {"busy_before": idle_busy, "load_start": load_start, "load_end": load_end, "foreign": watch.worst,
                     "built": built})
    say("")
    say(report)
    if out:
        with open(out, "w") as f:
            f.write(report)
        say(f"written to {os.path.relpath(out, ROOT)}")


def fmt_opt(value, fmt):
    return "n/a" if value is None else fmt.format(value)


def render(m, keys, titles, procs, started_at, elapsed, quick, quiet):
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    try:
        default_ciphers = next(l.split()[1] for l in subprocess.run(
            ["ssh", "-F", "/dev/null", "-G", "127.0.0.1"], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("ciphers "))
    except Exception:
        default_ciphers = "unknown"
    lines = []
    add = lines.append
    add("# p22p benchmark results")
    add("")
    if quick:
        add("**--quick run: tiny sizes, not comparable with the targets.**")
        add("")
    add(f"- date: {started_at.strftime('%Y-%m-%d %H:%M UTC')} (run took {elapsed / 60:.1f} min)")
    add(f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model}, "
        f"Linux {os.uname().release}, Python {sys.version.split()[0]}")
    add(f"- p22p: {quiet['built']} (`.build/release`)")
    add(f"- OpenSSH: {ssh_version}; client cipher preference (default): `{default_ciphers}`")
    add(f"- each value is the median of {Sizes.reps} repetitions; setups are interleaved within each repetition")
    foreign = ", ".join(f"{k} {v:.2f}" for k, v in quiet["foreign"].items())
    add(f"- machine load: {quiet['busy_before']:.0%} busy just before the run; load average "
        f"{' '.join(quiet['load_start'])} at the start, {' '.join(quiet['load_end'])} at the end; "
        f"CPU used by processes outside the benchmark during a measurement, worst case in cores: {foreign or 'n/a'}")
    add("")
    header = ["metric"] + [titles[k] for k in keys] + ["p22p/OpenSSH default", "p22p/OpenSSH aes128-gcm", "p22p/direct",
                                                       "p22p tcp:// / p22p ws://"]
    add("| " + " | ".join(header) + " |")
    add("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    footnotes = []

    def footnote(text):
        if text not in footnotes:
            footnotes.append(text)
        return footnotes.index(text) + 1

    for metric in m.values():
        row = [f"{metric.title} ({metric.unit})"]
        for k in keys:
            v = metric.value(k)
            if v is not None:
                cell = metric.fmt.format(v)
                if metric.errors.get(k):
                    n = footnote(f"{metric.title}, {titles[k]}: {len(metric.errors[k])} repetition(s) failed: "
                                 f"{metric.errors[k][0]}")
                    cell += f" [{n}]"
            elif k in metric.notes and not metric.errors.get(k):
                cell = metric.notes[k]
            else:
                reason = (metric.errors.get(k) or ["no measurement"])[0]
                cell = f"n/a [{footnote(reason if reason.startswith('not measured') else f'{metric.title}, {titles[k]}: {reason}')}]"
            row.append(cell)
        p = metric.value("p22p")
        for k in ("ssh-default", "ssh-gcm", "direct"):
            v = metric.value(k)
            row.append(f"{p / v:.2f}×" if p is not None and v else "—")
        t = metric.value("p22p-tcp")
        row.append(f"{t / p:.2f}×" if t is not None and p else "—")
        add("| " + " | ".join(row) + " |")
    add("")
    for i, note in enumerate(footnotes, 1):
        add(f"[{i}] {note}  ")
    if footnotes:
        add("")

    add("## Against the targets of issues 6, 13 and 14")
    add("")
    add("| target | measured | met? |")
    add("| --- | --- | --- |")

    def ratio(metric, other, ours="p22p"):
        p, o = m[metric].value(ours), m[metric].value(other)
        return p / o if p is not None and o else None

    def check(text, value, ok, shown):
        add(f"| {text} | {shown if value is not None else 'n/a'} | {('yes' if ok(value) else '**no**') if value is not None else 'n/a'} |")

    for metric, label in (("tp1", "throughput, 1 stream"), ("tp8", "throughput, 8 streams")):
        r = ratio(metric, "ssh-default")
        check(f"{label}: p22p ≥ 1.5× OpenSSH default", r, lambda x: x >= 1.5, f"{r:.2f}×" if r else "")
        r = ratio(metric, "ssh-gcm")
        check(f"{label}: p22p ≥ 1.0× OpenSSH aes128-gcm", r, lambda x: x >= 1.0, f"{r:.2f}×" if r else "")
    for other, label in (("ssh-default", "default"), ("ssh-gcm", "aes128-gcm")):
        r = ratio("rtt50", other)
        check(f"round-trip p50: p22p ≤ 1.0× OpenSSH {label}", r, lambda x: x <= 1.0, f"{r:.2f}×" if r else "")
    for other, label in (("ssh-default", "default"), ("ssh-gcm", "aes128-gcm")):
        r = ratio("conn", other)
        check(f"connection rate: p22p ≥ 2× OpenSSH {label}", r, lambda x: x >= 2.0, f"{r:.2f}×" if r else "")
    r = ratio("tp1", "ssh-gcm")
    check("issue 13: throughput, 1 stream: p22p ws:// ≥ 1.3× OpenSSH aes128-gcm", r, lambda x: x >= 1.3, f"{r:.2f}×" if r else "")
    r = ratio("rtt50", "ssh-gcm")
    check("issue 13: round-trip p50: p22p ws:// ≤ 0.8× OpenSSH aes128-gcm", r, lambda x: x <= 0.8, f"{r:.2f}×" if r else "")
    r = ratio("tp1", "p22p", ours="p22p-tcp")
    check("issue 13: throughput, 1 stream: p22p tcp:// ≥ 1.2× p22p ws://", r, lambda x: x >= 1.2, f"{r:.2f}×" if r else "")
    for key in ("p22p", "p22p-tcp"):
        idle, loaded = m["udp50"].value(key), m["udpbulk50"].value(key)
        extra = (loaded - idle) / 1000 if idle is not None and loaded is not None else None
        check(f"issue 14: UDP round trip p50, {titles[key]}: a bulk TCP transfer on the same link adds ≤ 5 ms",
              extra, lambda x: x <= 5, f"+{extra:.2f} ms ({idle / 1000:.2f} → {loaded / 1000:.2f} ms)" if extra is not None else "")
    v = m["per_member"].value("p22p")
    check("relay memory: < 20 KiB per idle member", v, lambda x: x < 20, f"{v:.1f} KiB" if v is not None else "")
    for other, label in (("ssh-default", "default"), ("ssh-gcm", "aes128-gcm")):
        r = ratio("cpu", other)
        check(f"CPU per GB: p22p below OpenSSH {label}", r, lambda x: x < 1.0, f"{r:.2f}×" if r else "")
    add("")

    add("## Every repetition")
    add("")
    add("| metric | " + " | ".join(titles[k] for k in keys) + " |")
    add("| --- | " + " | ".join("---" for _ in keys) + " |")
    for metric in m.values():
        cells = []
        for k in keys:
            values = metric.samples.get(k)
            cells.append(", ".join(metric.fmt.format(v) for v in values) if values else "—")
        add(f"| {metric.title} ({metric.unit}) | " + " | ".join(cells) + " |")
    add("")

    add("## How")
    add("")
    add(f"- throughput: the sender writes {Sizes.chunk // 1024} KiB chunks for {Sizes.bulk_seconds:g} s on each of "
        f"1 (resp. {Sizes.streams}) connection(s), then half-closes; the target (a sink) reads and discards and "
        "answers with its byte count; MB/s = bytes the sink received / (first write to last answer), 1 MB = 10^6 bytes")
    add(f"- round trip: one connection with TCP_NODELAY, {Sizes.rtt_bytes}-byte message, wait for the whole echo; "
        f"{Sizes.rtt_warmup} warm-up round trips, then {Sizes.rtt_count:,} timed; p50/p99 of those")
    add(f"- UDP round trip: one UDP socket, {Sizes.rtt_bytes}-byte datagrams, one at a time, to the target's UDP echo "
        f"(through a `protocol: udp` forward for p22p); 200 warm-up, then {Sizes.udp_count:,} timed; a datagram not "
        "back within 250 ms counts as lost. During a bulk transfer: the same, "
        f"{Sizes.udp_bulk_count:,} datagrams, while one throughput stream (as above) runs through the same setup, "
        "which for p22p is the same link to the relay; OpenSSH forwards no UDP")
    add(f"- connection rate: {Sizes.conn_concurrency} threads open, send 1 byte, read the echo and close, "
        f"{Sizes.conn_total:,} connections in all; connections/s over the whole batch")
    add("- CPU cost: utime+stime from /proc/PID/stat of the forwarding processes before and after each 1-stream "
        "run, divided by the GB the sink received; p22p = relay + both members, OpenSSH = `ssh -R` + `ssh -L` + "
        "the sshd listener and all its descendants (the per-connection sshd processes)")
    add(f"- relay memory, idle streams: fresh processes per repetition; {Sizes.idle_streams:,} connections through "
        "the forward, each with a 1-byte echo (so the whole path is up), held open "
        f"{Sizes.settle_seconds:g} s; VmRSS of the relay (p22p-server) resp. the sum over sshd and its descendants; "
        "per stream = (RSS with the streams − RSS before) / streams. The 'all forwarding processes' rows add the "
        "members (p22p) resp. both ssh clients (OpenSSH): with p22p the per-stream state lives in the members, "
        "with OpenSSH in sshd, which terminates both ssh connections")
    add(f"- relay memory, idle members: a fresh p22p-server per repetition; {Sizes.idle_members:,} members in "
        f"{Sizes.idle_groups} groups, joined by a Python asyncio WebSocket client speaking the join protocol "
        "(docs/PROTOCOL.md 2.1–2.3; keys derived once per group), answering keepalive pings; per member = "
        "(RSS with the members − RSS of the fresh relay) / members")
    add("")
    add("## Commands")
    add("")
    add("Run: `benchmarks/run.sh` (builds with `swift build -c release`, then `python3 benchmarks/bench.py`). "
        "Ports are picked free for each run; the processes this run started:")
    add("")
    add("```")
    for label, argv in procs.commands:
        add(f"{label}: {' '.join(shlex.quote(a) for a in argv)}")
    add("```")
    add("")
    add("p22p members get the password from `P22P_PASSWORD`. sshd config (one sshd per OpenSSH setup, "
        "its own port; config, host key and authorized key in a temporary directory):")
    add("")
    add("```")
    add("ListenAddress 127.0.0.1 / HostKey DIR/host_key / AuthorizedKeysFile DIR/authorized_keys / "
        "PermitRootLogin yes / UsePAM no / StrictModes no / PasswordAuthentication no / "
        "AllowTcpForwarding yes / UseDNS no / MaxStartups 100 / LogLevel ERROR")
    add("```")
    add("")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "target":
        try:
            serve_target(int(sys.argv[2]))
        except KeyboardInterrupt:
            pass
    else:
        main()
