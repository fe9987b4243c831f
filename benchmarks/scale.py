#!/usr/bin/env python3
"""Relay cluster at scale: three p22p relays behind HAProxy (configured as
examples/cluster/haproxy.cfg), one p22p-up host and one p22p-up guest with
GROUPS groups each (2 x GROUPS members), a TCP forward per group.

Measures: the time until every forward works after a cold start; each
relay's groups, members, RSS and idle CPU; then kills the relay with the most
groups with SIGKILL and measures the reconnect storm: the time until every
forward works again, and the peak CPU of the surviving relays.

Usage: scale.py BIN_DIR [GROUPS]   (benchmarks/scale.sh builds and calls it)
Everything it starts is stopped by PID; every wait is bounded.
"""
import asyncio, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

BIN = os.path.abspath(sys.argv[1])
GROUPS = int(sys.argv[2]) if len(sys.argv) > 2 else 500
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "cluster", "haproxy.cfg")
TICK = os.sysconf("SC_CLK_TCK")
work = tempfile.mkdtemp(prefix="p22p-scale-")
procs = []


def free_ports(count):
    """`count` distinct free ports: all held open at once, so none repeats."""
    held = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
    ports = [s.getsockname()[1] for s in held]
    for s in held:
        s.close()
    return ports


def free_port():
    return free_ports(1)[0]


def start(args, log):
    p = subprocess.Popen(args, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT, cwd=work)
    procs.append(p)
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def metric(port, name):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    m = re.search(rb"^" + name.encode() + rb" ([0-9.e+]+)$", data, re.M)
    return int(float(m.group(1))) if m else 0


async def echo_server():
    async def handle(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass  # a member reset it, or the run is over
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    return server, server.sockets[0].getsockname()[1]


async def answers(port):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        writer.write(b"ping")
        ok = await asyncio.wait_for(reader.readexactly(4), 3) == b"ping"
        writer.close()
        return ok
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        return False


async def until_all_forward(ports, limit, on_tick=None):
    """Seconds until every port answered once (each is tried until it does), or None."""
    started = time.monotonic()
    waiting = set(ports)
    while waiting and time.monotonic() - started < limit:
        results = await asyncio.gather(*(answers(p) for p in waiting))
        waiting = {p for p, ok in zip(list(waiting), results) if not ok}
        if on_tick:
            on_tick()
        if waiting:
            await asyncio.sleep(0.1)
    return None if waiting else time.monotonic() - started


async def main():
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    relays = []
    for _ in range(3):
        port, metrics = free_port(), free_port()
        p = start([f"{BIN}/p22p-server", "--listen", f"127.0.0.1:{port}", "--metrics", f"127.0.0.1:{metrics}",
                   "--trusted-proxy", "127.0.0.1/32", "--log-level", "warning", "--groups-per-minute", "1000000",
                   "--max-connections-per-address", "1000000", "--failed-joins-per-minute", "1000000"], f"relay{len(relays)}.log")
        relays.append({"proc": p, "port": port, "metrics": metrics})
    for r in relays:
        for _ in range(100):
            if metric(r["metrics"], "p22p_relay_groups") is not None:
                break
            time.sleep(0.1)
    frontend = free_port()
    config = open(EXAMPLE).read().replace("bind :39453", f"bind 127.0.0.1:{frontend}")
    for i, r in enumerate(relays):
        example = f"10.0.0.1{i + 1}:39453 check port 9464"
        if example not in config:
            sys.exit(f"{EXAMPLE} has no server line with {example}")
        config = config.replace(example, f"127.0.0.1:{r['port']} check port {r['metrics']}")
    open(os.path.join(work, "haproxy.cfg"), "w").write(config)
    start([haproxy, "-db", "-f", "haproxy.cfg"], "haproxy.log")

    server, echo = await echo_server()
    with open(os.path.join(work, "group.pass"), "w") as f:
        f.write("scale test password\n")
    os.chmod(os.path.join(work, "group.pass"), 0o600)
    names = [f"scale{i}" for i in range(GROUPS)]
    locals_ = free_ports(len(names))
    common = f"server: ws://127.0.0.1:{frontend}\nreconnect: {{ initial_delay: 200ms, max_delay: 5s }}\n"
    with open(os.path.join(work, "host.yaml"), "w") as f:
        f.write(common + "name: host\ngroups:\n" + "".join(
            f"  - {{ name: {n}, password_file: group.pass, allow: [{echo}] }}\n" for n in names))
    with open(os.path.join(work, "guest.yaml"), "w") as f:
        f.write(common + "name: guest\ngroups:\n" + "".join(
            f"  - {{ name: {n}, password_file: group.pass, forwards: [{{ listen: 127.0.0.1:{l}, peer: host, target: {echo} }}] }}\n"
            for n, l in zip(names, locals_)))
    started = time.monotonic()
    start([f"{BIN}/p22p-up", "host.yaml"], "host.log")
    start([f"{BIN}/p22p-up", "guest.yaml"], "guest.log")
    def check_alive():
        for p in procs:
            if p.poll() is not None:
                log = os.path.join(work, os.path.basename(p.args[-1]).replace(".yaml", ".log")) if "p22p-up" in p.args[0] else ""
                tail = open(log).read()[-2000:] if log and os.path.exists(log) else ""
                sys.exit(f"{' '.join(p.args)} exited with status {p.returncode}:\n{tail}")

    # Each member derives each group's keys (0.2-0.4 s of scrypt here), so the
    # cold start grows with the group count: allow 1.2 s per group, 30 min at least.
    limit = max(1800, GROUPS * 1.2)
    cold = await until_all_forward(locals_, limit, on_tick=check_alive)
    if cold is None:
        sys.exit(f"not every forward worked within {limit / 60:.0f} min of the start; see {work}")
    cold = time.monotonic() - started
    print(f"cold start: {GROUPS} groups, {2 * GROUPS} members: every forward worked after {cold:.1f} s (key derivation included)")

    await asyncio.sleep(5)
    before = {}
    for r in relays:
        pid = r["proc"].pid
        c0 = cpu_seconds(pid)
        r["groups"] = metric(r["metrics"], "p22p_relay_groups") or 0
        r["members"] = metric(r["metrics"], "p22p_relay_members") or 0
        before[pid] = c0
    await asyncio.sleep(10)
    for i, r in enumerate(relays):
        pid = r["proc"].pid
        idle = (cpu_seconds(pid) - before[pid]) / 10 * 100
        print(f"relay {i + 1}: {r['groups']} groups, {r['members']} members, RSS {rss_mib(pid):.1f} MiB, idle CPU {idle:.2f}%")

    busiest = max(relays, key=lambda r: r["groups"])
    survivors = [r for r in relays if r is not busiest]
    samples = {r["proc"].pid: [(time.monotonic(), cpu_seconds(r["proc"].pid))] for r in survivors}

    def sample():
        for r in survivors:
            samples[r["proc"].pid].append((time.monotonic(), cpu_seconds(r["proc"].pid)))

    busiest["proc"].send_signal(signal.SIGKILL)
    busiest["proc"].wait()
    killed = time.monotonic()
    storm = await until_all_forward(locals_, 300, on_tick=sample)
    sample()
    peaks = []
    for r in survivors:
        points = samples[r["proc"].pid]
        peak = 0.0
        for (t0, c0), (t1, c1) in zip(points, points[1:]):
            if t1 - t0 > 0.2:
                peak = max(peak, (c1 - c0) / (t1 - t0))
        total = points[-1][1] - points[0][1]
        peaks.append(f"peak {peak:.2f} cores, {total:.1f} CPU s in all")
    if storm is None:
        sys.exit(f"after killing relay {relays.index(busiest) + 1} not every forward worked again within 300 s; see {work}")
    after = [metric(r["metrics"], "p22p_relay_groups") for r in survivors]
    print(f"killed relay {relays.index(busiest) + 1} ({busiest['groups']} groups, {busiest['members']} members): "
          f"every forward worked again after {storm:.1f} s; groups on the survivors now {after}")
    for r, peak in zip(survivors, peaks):
        print(f"  surviving relay {relays.index(r) + 1}: {peak}, RSS {rss_mib(r['proc'].pid):.1f} MiB")
    server.close()


succeeded = False
try:
    asyncio.run(main())
    succeeded = True
finally:
    for p in reversed(procs):
        if p.poll() is None:
            p.kill()
            p.wait()
    if succeeded:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs kept in {work}", file=sys.stderr)
