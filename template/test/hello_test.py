#!/usr/bin/env python3
"""Starts the host with the plugin, says hello over a real WebSocket, checks the answer.

Usage: hello_test.py HOST_BINARY PLUGIN.so   (ctest passes both)
Only the standard library: a WebSocket client is a handshake and two frame shapes.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

signal.alarm(20)  # the whole test, however it hangs


def start_host(binary, plugins):
    host = subprocess.Popen([binary, "--port", "0", "--plugins", plugins],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in host.stdout:
        print(line, end="")
        if listening := re.search(r"listening on ws://[\d.]+:(\d+)", line):
            return host, int(listening.group(1))
    sys.exit(f"the host exited before listening: {host.wait()}")


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def send(sock, event, payload):
    data = json.dumps({"event": event, "payload": payload}).encode()
    mask = os.urandom(4)
    assert len(data) < 126  # one short frame is enough here
    sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def receive(sock):
    def exactly(n):
        data = b""
        while len(data) < n:
            data += sock.recv(n - len(data))
        return data
    first, second = exactly(2)
    assert first == 0x81, f"expected one text frame, got {first:#x}"
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", exactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", exactly(8))[0]
    return json.loads(exactly(size))


binary, plugin = sys.argv[1:3]
with tempfile.TemporaryDirectory() as plugins:
    shutil.copy(plugin, plugins)
    host, port = start_host(binary, plugins)
    try:
        with connect(port) as sock:  # closed before the host stops, which then need not wait for it
            send(sock, "hello", "ann")
            answer = receive(sock)
        assert answer == {"event": "hello", "payload": "hello, ann"}, answer
        print("ok:", answer)
    finally:
        host.terminate()
        exit_code = host.wait()
    assert exit_code == 0, f"the host exited with {exit_code} after SIGTERM"
