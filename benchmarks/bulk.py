#!/usr/bin/env python3
"""Bulk-transfer timing for one TCP path, used by forward-throughput.sh.

  bulk.py sink PORT             accept connections forever; for each, read to
                                EOF, then answer with the byte count
  bulk.py send PORT BYTES RUNS  send BYTES on RUNS fresh connections (half-close,
                                wait for the count); print MB/s of each run
"""
import os
import socket
import sys
import threading
import time

CHUNK = 1 << 20


def sink(port):
    server = socket.create_server(("127.0.0.1", port), backlog=64)
    print("listening", flush=True)
    while True:
        connection, _ = server.accept()
        threading.Thread(target=drain, args=(connection,), daemon=True).start()


def drain(connection):
    total = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        count = connection.recv_into(view)
        if count == 0:
            break
        total += count
    connection.sendall(f"{total}\n".encode())
    connection.close()


def payload_bytes():
    """BULK_PAYLOAD=zeros (default), random (incompressible) or text (log lines)."""
    kind = os.environ.get("BULK_PAYLOAD", "zeros")
    if kind == "random":
        return os.urandom(CHUNK)
    if kind == "text":
        lines, index = [], 0
        while sum(map(len, lines)) < CHUNK:
            lines.append(f"2026-11-30T17:{index // 60 % 60:02d}:{index % 60:02d} INFO request {index * 7919 % 100000} "
                         f"from 10.0.{index % 256}.{index * 13 % 256} took {index % 977} ms\n".encode())
            index += 1
        return b"".join(lines)[:CHUNK]
    return bytes(CHUNK)


def send(port, size, runs):
    payload = payload_bytes()
    for _ in range(runs):
        connection = socket.create_connection(("127.0.0.1", port))
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.monotonic()
        remaining = size
        while remaining > 0:
            piece = payload if remaining >= CHUNK else payload[:remaining]
            connection.sendall(piece)
            remaining -= len(piece)
        connection.shutdown(socket.SHUT_WR)
        answer = connection.makefile().readline().strip()
        elapsed = time.monotonic() - started
        connection.close()
        if int(answer) != size:
            sys.exit(f"sink received {answer} bytes, expected {size}")
        print(f"{size / elapsed / 1e6:.1f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(int(sys.argv[2]))
    else:
        send(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
