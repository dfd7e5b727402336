#!/usr/bin/env python3
"""A stand-in for an executor host's node service (the thing a host probe checks).

The demo's "hosts" local1 and local2 are directories on this machine, not machines; this process
is what makes one of them reachable or not. It accepts TCP connections on its port (the host's
`probe: { tcp: ... }` target), answers one JSON line and closes. Stopping it, together with the
executor processes "on" that host, is how the demo crashes a host; starting it again brings the
host back. The example hooks refuse to create executors on a host whose agent does not answer.
"""
import argparse
import json
import os
import signal
import socket
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True, help="the host this agent stands in for, e.g. local2")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--pid-file", help="written once listening, removed on a clean exit")
    args = parser.parse_args()

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((args.bind, args.port))
    except OSError as error:
        print(f"host_agent {args.host}: cannot listen on {args.bind}:{args.port}: {error}", file=sys.stderr)
        sys.exit(1)
    server.listen(64)
    if args.pid_file:
        tmp = args.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, args.pid_file)

    def stop(*_):
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except FileNotFoundError:
                pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    answer = (json.dumps({"host": args.host, "status": "up"}) + "\n").encode()
    while True:
        connection, _ = server.accept()
        try:
            connection.sendall(answer)
        except OSError:
            pass
        connection.close()


if __name__ == "__main__":
    main()
