#!/usr/bin/env python3
"""Time from a relay restart to working forwards again, as p22p-up users see it.

  benchmarks/reconnect.py BIN_DIR [RUNS]

Starts a relay and two p22p-up members (host allows an echo server, guest
forwards a local port to it) and opens one connection through the forward
that stays open throughout. Then RUNS times (default 10): kill -9 the relay,
send a byte on the open connection (it is held), connect to the forward
while the relay is down (that connection waits), start the relay again 2 s
after the kill on the same port, and time from the moment the new relay
accepts TCP connections until
  (r) the open connection's byte comes back: the stream resumed,
  (a) the waiting connection gets its first byte back, with no retry by its
      client, and
  (b) a new round trip through the forward succeeds.
Prints each run, then the median (p50) and the worst run (p99 of 10) of each.

While a connection is open, p22p-up retries the relay at most 500 ms apart
whatever its backoff says, so back-to-back outages measure the same thing.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo_server(port):
    server = socket.create_server(("127.0.0.1", port))

    def serve(connection):
        try:
            with connection:
                while data := connection.recv(65536):
                    connection.sendall(data)
        except OSError:
            pass

    def accept():
        while True:
            connection, _ = server.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def round_trip(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"ping")
            return connection.recv(4) == b"ping"
    except OSError:
        return False


def main():
    bin_dir = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    relay_port, echo_port, local_port = free_port(), free_port(), free_port()
    echo_server(echo_port)
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "pw"), "w") as f:
        f.write("reconnect benchmark\n")
    for name, body in [
        ("host", f"groups:\n  - {{ name: bench, password_file: pw, allow: [{echo_port}] }}\n"),
        ("guest", f"groups:\n  - name: bench\n    password_file: pw\n    forwards:\n"
                  f"      - {{ listen: 127.0.0.1:{local_port}, peer: host, target: {echo_port} }}\n"),
    ]:
        with open(os.path.join(work, f"{name}.yaml"), "w") as f:
            f.write(f"server: ws://127.0.0.1:{relay_port}\nname: {name}\n"
                    "reconnect: { initial_delay: 500ms, max_delay: 30s }\n" + body)

    def start_relay():
        return subprocess.Popen([os.path.join(bin_dir, "p22p-server"), "--listen", f"127.0.0.1:{relay_port}",
                                 "--log-level", "warning"])

    relay = start_relay()
    members = [subprocess.Popen([os.path.join(bin_dir, "p22p-up"), "--log-level", "warning",
                                 os.path.join(work, f"{name}.yaml")]) for name in ("host", "guest")]
    try:
        deadline = time.monotonic() + 30
        while not round_trip(local_port):
            if time.monotonic() > deadline:
                sys.exit("the forward never worked")
            time.sleep(0.05)
        session = socket.create_connection(("127.0.0.1", local_port), timeout=30)
        session.sendall(b"open")
        if session.recv(4) != b"open":
            sys.exit("the long-lived connection does not echo")
        resumed, served, times = [], [], []
        for run in range(runs):
            time.sleep(5)
            relay.send_signal(signal.SIGKILL)
            relay.wait()
            killed = time.monotonic()
            time.sleep(0.5)
            session.sendall(bytes([run % 256]))
            waiting = socket.create_connection(("127.0.0.1", local_port), timeout=15)
            waiting.sendall(b"made during the outage")
            time.sleep(max(0, 2 - (time.monotonic() - killed)))
            relay = start_relay()
            while True:
                try:
                    socket.create_connection(("127.0.0.1", relay_port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() - killed > 30:
                        sys.exit("the relay did not come back")
                    time.sleep(0.002)
            accepting = time.monotonic()
            try:
                echoed = session.recv(1)
            except OSError as error:
                sys.exit(f"the open connection failed instead of resuming: {error}")
            if echoed != bytes([run % 256]):
                sys.exit(f"the open connection returned {echoed!r} instead of resuming")
            resumed.append(time.monotonic() - accepting)
            try:
                first = waiting.recv(1)
            except OSError as error:
                sys.exit(f"the connection made during the outage failed instead of being served: {error}")
            finally:
                waiting.close()
            if not first:
                sys.exit("the connection made during the outage was closed, not served")
            served.append(time.monotonic() - accepting)
            while not round_trip(local_port):
                if time.monotonic() - accepting > 90:
                    sys.exit("the forward did not come back within 90 s")
                time.sleep(0.02)
            times.append(time.monotonic() - accepting)
            print(f"run {run + 1}: open connection resumed {resumed[-1]:.2f} s, waiting connection served "
                  f"{served[-1]:.2f} s, new round trip {times[-1]:.2f} s after the relay accepted again", flush=True)
        session.close()
        for label, values in [("open connection resumed", resumed), ("waiting connection served", served),
                              ("new round trip", times)]:
            print(f"{label}: p50 {statistics.median(values):.2f} s, worst of {runs} {max(values):.2f} s")
    finally:
        for process in members + [relay]:
            process.terminate()
        for process in members + [relay]:
            process.wait()


if __name__ == "__main__":
    main()
