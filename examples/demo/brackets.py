#!/usr/bin/env python3
"""Demo traffic that behaves like the brackets and the WAF, against a running fleet.

For each app it reads the published online set (mimic:{app}:online:view), sends each request to
every online executor (left bracket), compares the answers and reports the arbitration (right
bracket), reports health with measured latency, and once raises a WAF alert. Everything goes
through the listener's HTTP ingress with a bearer token, as the real devices would.

Like a real left bracket it obeys the scheduler's blacklist: it loads mimic:{app}:list:blacklist,
follows the changes published on mimic:{app}:lists, and does not send a blacklisted URL to the
executors (it says so on the terminal), so a URL the scheduler suspected stops producing dissents.
"""
import argparse
import json
import random
import re
import signal
import subprocess
import sys
import threading
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


class Blacklist:
    """The scheduler's blacklist for one app, as the left bracket sees it: the stored set at start,
    then every change published on the app's lists channel (adds, operator removals, expiries)."""

    def __init__(self, app, db, redis_port):
        self.app = app
        self.lock = threading.Lock()
        self.patterns = {}   # pattern -> compiled regex
        self.refused_at = {}  # url -> monotonic time of the last refusal printed
        # Subscribe before reading the set, so no change falls between the two.
        self.subscriber = subprocess.Popen(
            ["redis-cli", "-p", str(redis_port), "SUBSCRIBE", f"mimic:{app}:lists"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self.follow, daemon=True).start()
        stored = subprocess.run(["redis-cli", "-p", str(redis_port), "-n", str(db), "--raw",
                                 "SMEMBERS", f"mimic:{app}:list:blacklist"], capture_output=True, text=True).stdout
        for pattern in filter(None, stored.splitlines()):
            self.add(pattern)

    @staticmethod
    def compile(pattern):
        # The scheduler's patterns: '*' matches any run of characters, everything else literally.
        return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))

    def add(self, pattern):
        with self.lock:
            self.patterns[pattern] = self.compile(pattern)

    def follow(self):
        # redis-cli prints each published message as three lines: "message", channel, payload.
        for line in self.subscriber.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                change = json.loads(line)
            except ValueError:
                continue
            if change.get("list") != "blacklist" or not change.get("url"):
                continue
            url = change["url"]
            if change.get("op") == "add":
                self.add(url)
                log(f"{self.app}: left bracket: scheduler blacklisted {url} ({change.get('reason', '')}); "
                    "no longer sending it to the executors")
            elif change.get("op") == "remove":
                with self.lock:
                    self.patterns.pop(url, None)
                log(f"{self.app}: left bracket: {url} left the blacklist ({change.get('reason', '')}); sending it again")

    def refuses(self, url):
        with self.lock:
            hit = next((p for p, regex in self.patterns.items() if regex.fullmatch(url)), None)
        if hit is None:
            return False
        now = time.monotonic()
        # Say it on the terminal, but not for every request of a sustained attack.
        if now - self.refused_at.get(url, -60) >= 10:
            self.refused_at[url] = now
            log(f"{self.app}: left bracket: refused {url}: blacklisted ({hit}), not sent to the executors")
        return True

    def close(self):
        self.subscriber.terminate()


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
    blacklists = {app: Blacklist(app, db, args.redis_port) for app, db in apps}
    started = time.monotonic()
    alerted = False
    last_versions = {}
    try:
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
                if blacklists[app].refuses(url):
                    continue
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
    finally:
        for blacklist in blacklists.values():
            blacklist.close()


if __name__ == "__main__":
    # The demo stops its processes with SIGTERM: exit through `finally`, so the subscriber goes too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
