#!/usr/bin/env python3
"""Demo traffic that behaves like the brackets and the WAF, against a running fleet.

For each app it reads the published online set (mimic:{app}:online:view), sends each request to
every online executor (left bracket), compares the answers and reports the arbitration (right
bracket), reports health with measured latency, and once raises a WAF alert. Everything goes
through the listener's HTTP ingress with a bearer token, as the real devices would.
"""
import argparse
import json
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request

URLS = ["/", "/login", "/products?id=7", "/cart", "/search?q=shoes", "/admin/upload?f=x.php"]


def log(text):
    print(time.strftime("%H:%M:%S"), text, flush=True)


class Fleet:
    def __init__(self, args):
        self.args = args
        self.counter = 0

    def online(self, app, db):
        out = subprocess.run(["redis-cli", "-p", str(self.args.redis_port), "-n", str(db), "--raw",
                              "GET", f"mimic:{app}:online:view"], capture_output=True, text=True).stdout.strip()
        try:
            return json.loads(out)
        except ValueError:
            return None

    def send(self, app, source, kind, body):
        self.counter += 1
        envelope = {"id": f"demo-{int(time.time())}-{self.counter}", "app": app, "source": source,
                    "type": kind, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "body": body}
        request = urllib.request.Request(self.args.listener + "/v1/events", data=json.dumps(envelope).encode(),
                                         headers={"Authorization": "Bearer " + self.args.token,
                                                  "Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            log(f"{app}: listener answered {error.code}: {error.read().decode(errors='replace')}")
        except OSError as error:
            log(f"{app}: listener unreachable: {error}")
        return None


def fetch(endpoint, url):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://{endpoint}{url}", timeout=2) as response:
            return response.read(), (time.monotonic() - started) * 1000
    except OSError:
        return None, (time.monotonic() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listener", default="http://127.0.0.1:7600")
    parser.add_argument("--token", required=True)
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--app", action="append", required=True, help="app:db, repeatable")
    parser.add_argument("--duration", type=float, default=0, help="seconds; 0 runs until interrupted")
    parser.add_argument("--rate", type=float, default=5, help="requests per second per app")
    args = parser.parse_args()
    apps = [(a.split(":")[0], int(a.split(":")[1])) for a in args.app]
    fleet = Fleet(args)
    started = time.monotonic()
    alerted = False
    last_versions = {}
    while args.duration == 0 or time.monotonic() - started < args.duration:
        for app, db in apps:
            view = fleet.online(app, db)
            if not view or not view.get("online"):
                continue
            if last_versions.get(app) != view["version"]:
                last_versions[app] = view["version"]
                log(f"{app}: online v{view['version']}: " + ", ".join(
                    f"{m['id']}({m['variant']},w={m['weight']})" for m in view["online"]))
            members = view["online"]
            url = random.choice(URLS)
            answers = {m["id"]: fetch(m["endpoint"], url) for m in members}
            for member in members:
                body, latency = answers[member["id"]]
                if random.random() < 0.1 or body is None:
                    fleet.send(app, "left_bracket", "health", {"executor": member["id"],
                                                               "status": "up" if body else "down",
                                                               "latency_ms": round(latency, 1)})
            bodies = {}
            for executor, (body, _) in answers.items():
                bodies.setdefault(body, []).append(executor)
            majority = max(bodies.values(), key=len)
            dissenters = sorted(e for e in answers if e not in majority)
            fleet.send(app, "right_bracket", "arbitration", {
                "request_id": f"r{fleet.counter}", "url": url, "method": "GET",
                "executors": sorted(answers), "dissenters": dissenters})
            if dissenters:
                log(f"{app}: {url} -> dissenters {dissenters}")
            if not alerted and time.monotonic() - started > 20:
                target = random.choice(members)["id"]
                fleet.send(app, "waf", "alert", {"executor": target, "rule": "942100", "severity": "high",
                                                 "url": "/search?q=' or 1=1--", "client_ip": "203.0.113.9"})
                log(f"{app}: WAF alert (high) on {target}")
                alerted = True
        time.sleep(1 / args.rate)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
