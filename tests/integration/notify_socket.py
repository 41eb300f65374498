#!/usr/bin/env python3
"""Stands in for systemd's notification socket (node cannot bind AF_UNIX datagram
sockets): binds one at argv[1], '@name' meaning an abstract name, prints "bound",
then each datagram it receives as one JSON string per line."""
import json
import socket
import sys

address = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + address[1:] if address.startswith("@") else address)
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(sock.recv(4096).decode()), flush=True)
