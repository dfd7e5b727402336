#!/usr/bin/env python3
"""A stand-in executor: one small HTTP server per executor, answering like a build of the app.

Variants differ in the Server header (their "stack") but must give the same body for the same
request, as heterogeneous builds of one app do; the right bracket compares bodies.
"""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    # In a container (the demo's docker driver) the driver says who it is in the environment.
    parser.add_argument("--app", default=os.environ.get("MIMIC_APP"))
    parser.add_argument("--executor", default=os.environ.get("MIMIC_EXECUTOR", ""))
    parser.add_argument("--variant", default=os.environ.get("MIMIC_VARIANT"))
    parser.add_argument("--host", default="", help="the (stand-in) host it runs on, for X-Host")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")),
                        help="0: any free port, written to --port-file")
    parser.add_argument("--port-file", help="where the chosen port is written (the example hooks read it)")
    args = parser.parse_args()
    if not args.app or not args.variant:
        parser.error("--app and --variant are required (or MIMIC_APP and MIMIC_VARIANT)")
    vulnerable = os.environ.get("MIMIC_DEMO_VULNERABLE_VARIANT", "")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            answer = {"app": args.app, "path": self.path, "status": "ok"}
            # The demo's "compromised" build: one variant has a flaw on the upload path and answers
            # differently there, which is what the right bracket's vote catches.
            if args.variant == vulnerable and self.path.startswith("/admin/upload"):
                answer["status"] = "owned"
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Server", args.variant)
            if args.executor:
                self.send_header("X-Executor", args.executor)
            if args.host:
                self.send_header("X-Host", args.host)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
