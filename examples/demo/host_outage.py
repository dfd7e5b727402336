#!/usr/bin/env python3
"""The demo's host crash: some time in, one executor host goes down, and comes back later.

"Down" is what a crashed machine looks like from the scheduler: the host's agent (the stand-in for
its node service, examples/hosts/host_agent.py, which the host's probe connects to) stops
answering, and every executor process running "on" the host dies with it (kill -9; the example
hooks keep them under <executor-dir>/<app>/<host>/). While the host is down nothing runs there: any
executor process that appears on it is killed again. Then the agent is started again.

It prints what it did and what the scheduler did, read from each app's Redis state (the host
hash mimic:{app}:host:{name}, the state sets, the executor hashes), never from logs.
"""
import argparse
import os
import signal
import subprocess
import sys
import time


def log(text):
    print(time.strftime("%H:%M:%S"), "outage:", text, flush=True)


class AppView:
    """One app's state in its Redis DB, through redis-cli (as brackets.py reads the online set)."""

    def __init__(self, redis_port, app, db):
        self.redis_port, self.app, self.db = redis_port, app, db

    def cli(self, *args):
        result = subprocess.run(["redis-cli", "-p", str(self.redis_port), "-n", str(self.db), "--raw", *args],
                                capture_output=True, text=True)
        return [line for line in result.stdout.split("\n") if line != ""]

    def hash(self, key):
        items = self.cli("HGETALL", key)
        return dict(zip(items[0::2], items[1::2]))

    def host(self, name):
        return self.hash(f"mimic:{self.app}:host:{name}")

    def members(self, state):
        return set(self.cli("SMEMBERS", f"mimic:{self.app}:state:{state}"))

    def executors(self):
        """id -> (state, host, variant) for every executor the pools record."""
        found = {}
        for state in ["initializing", "standby", "online", "dirty", "cleaning", "offline"]:
            for executor in self.members(state):
                record = self.hash(f"mimic:{self.app}:exec:{executor}")
                found[executor] = (state, record.get("host", "?"), record.get("variant", "?"))
        return found


def describe(executors, ids):
    return ", ".join(f"{i}@{executors[i][1]}" for i in sorted(ids, key=natural)) or "none"


def marked(view, host, status, after):
    """The host's Redis record once its worker has marked it `status` (at most 1 s before `after`,
    for clock granularity), else None."""
    record = view.host(host)
    if record.get("status") == status and int(record.get("since", 0)) >= after * 1000 - 1000:
        return record
    return None


def natural(executor_id):
    digits = "".join(c for c in executor_id if c.isdigit())
    return (int(digits) if digits else 0, executor_id)


def processes_on(executor_dir, host):
    """PIDs of executor processes running "on" the host: the example hooks put the executor's
    port file, under <executor-dir>/<app>/<host>/, on its command line."""
    marker = f"{os.path.realpath(executor_dir)}/"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    continue  # dead, not yet reaped
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except (OSError, IndexError):
            continue
        for arg in argv:
            path = os.path.realpath(arg) if arg.startswith("/") else arg
            if path.startswith(marker) and path[len(marker):].split("/")[1:2] == [host]:
                pids.append(int(entry))
                break
    return pids


def kill_host_processes(executor_dir, host, already=None):
    """Kills them (kill -9, as a crash); returns the PIDs not in `already` (killed before and
    maybe not gone yet: SIGKILL is delivered, not waited for)."""
    killed = []
    for pid in processes_on(executor_dir, host):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        if already is None or pid not in already:
            killed.append(pid)
    if already is not None:
        already.update(killed)
    return killed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--app", action="append", required=True, help="app:db, repeatable")
    parser.add_argument("--host", default="local2", help="the host to take down")
    parser.add_argument("--after", type=float, default=60, help="seconds before the host goes down")
    parser.add_argument("--down-for", type=float, default=30, help="seconds the host stays down")
    parser.add_argument("--executor-dir", required=True, help="MIMIC_EXECUTOR_DIR of the example hooks")
    parser.add_argument("--agent-port", type=int, required=True, help="the host agent's port (its probe target)")
    parser.add_argument("--agent-pid-file", required=True)
    parser.add_argument("--agent-log", default=os.devnull)
    # The demo's docker mode: the host's Docker Engine crashes with it and starts again with it.
    parser.add_argument("--crash-cmd", help="shell command run at the crash (e.g. scripts/demo-engines.sh crash ...)")
    parser.add_argument("--restart-cmd", help="shell command run when the host comes back")
    args = parser.parse_args()
    host = args.host
    apps = [AppView(args.redis_port, a.split(":")[0], int(a.split(":")[1])) for a in args.app]
    agent = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hosts", "host_agent.py")

    log(f"host {host} goes down in {args.after:g} s, for {args.down_for:g} s "
        f"(MIMIC_DEMO_HOST_DOWN_AFTER / MIMIC_DEMO_HOST_DOWN_FOR)")
    time.sleep(args.after)

    before = {view.app: view.executors() for view in apps}
    for view in apps:
        on_host = {i: s for i, (s, h, _) in before[view.app].items() if h == host}
        log(f"{view.app}: on {host} before the crash: "
            + (", ".join(f"{i}({s})" for i, s in sorted(on_host.items(), key=lambda kv: natural(kv[0]))) or "nothing"))

    # The crash: the agent dies first (the probe starts failing), then everything that ran there.
    crashed_at = time.time()
    try:
        with open(args.agent_pid_file) as f:
            agent_pid = int(f.read().strip())
        os.kill(agent_pid, signal.SIGKILL)
        os.unlink(args.agent_pid_file)
    except (OSError, ValueError) as error:
        agent_pid = None
        log(f"{host}: could not stop its agent ({error})")
    if args.crash_cmd:
        subprocess.run(args.crash_cmd, shell=True, stdin=subprocess.DEVNULL)
        log(f"CRASH {host}: its Docker Engine and containers were killed (kill -9)")
    dead = set()
    killed = kill_host_processes(args.executor_dir, host, dead)
    log(f"CRASH {host}: killed its agent (pid {agent_pid}, probe target 127.0.0.1:{args.agent_port}) "
        f"and its {len(killed)} executor processes (kill -9)")

    seen_down, whole = set(), set()
    offline_there = {view.app: set() for view in apps}  # offline on the host, seen while it was down
    back_at = crashed_at + args.down_for
    while time.time() < back_at:
        # Nothing runs on a crashed host: a create that was in flight when it died dies too.
        late = kill_host_processes(args.executor_dir, host, dead)
        if late:
            log(f"{host}: killed {len(late)} executor process(es) started there during the crash")
        for view in apps:
            app = view.app
            if app not in seen_down:
                record = marked(view, host, "down", crashed_at)
                if record:
                    seen_down.add(app)
                    now = view.executors()
                    was = before[app]
                    fates = [f"{i} {s}->{now[i][0] if i in now else 'purged'}"
                             for i, (s, h, _) in sorted(was.items(), key=lambda kv: natural(kv[0])) if h == host]
                    online = {i for i, (s, _, _) in now.items() if s == "online"}
                    detected = int(record["since"]) / 1000 - crashed_at
                    log(f"{app}: worker marked {host} DOWN {detected:.1f} s after the crash "
                        f"({record.get('failures')} failed probes: {record.get('detail', '')})")
                    log(f"{app}:   its executors: {', '.join(fates) or 'none'} "
                        f"(offline list: mimic:{app}:state:offline)")
                    log(f"{app}:   online now: {describe(now, online)}")
            else:
                now = view.executors()
                offline_there[app] |= {i for i, (s, h, _) in now.items() if h == host and s == "offline"}
                if app in whole:
                    continue
                online = {i for i, (s, _, _) in now.items() if s == "online"}
                standby = {i for i, (s, _, _) in now.items() if s == "standby"}
                online_before = sum(1 for s, _, _ in before[app].values() if s == "online")
                if len(online) >= online_before and standby and all(now[i][1] != host for i in online | standby):
                    whole.add(app)
                    log(f"{app}: replaced on the other hosts {time.time() - crashed_at:.1f} s after the crash: "
                        f"online {describe(now, online)}; standby {describe(now, standby)}")
        time.sleep(0.1)
    for view in apps:
        if view.app not in seen_down:
            log(f"{view.app}: the worker has not marked {host} down (probe configured?)")

    # The host comes back: its agent answers again.
    with open(args.agent_log, "ab") as out:
        subprocess.Popen([sys.executable, agent, "--host", host, "--port", str(args.agent_port),
                          "--pid-file", args.agent_pid_file], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    if args.restart_cmd:
        subprocess.run(args.restart_cmd, shell=True, stdin=subprocess.DEVNULL)
    restarted_at = time.time()
    log(f"RESTORE {host}: agent started again on 127.0.0.1:{args.agent_port} "
        f"after {restarted_at - crashed_at:.0f} s down")
    seen_up, cleaned = set(), set()
    deadline = restarted_at + 60
    while len(cleaned) < len(apps) and time.time() < deadline:
        for view in apps:
            app = view.app
            if app not in seen_up:
                record = marked(view, host, "up", restarted_at)
                if record:
                    seen_up.add(app)
                    log(f"{app}: worker marked {host} UP {int(record['since']) / 1000 - restarted_at:.1f} s after "
                        f"the restart; it removes the offline executors there through the remove hook: "
                        f"{', '.join(sorted(offline_there[app], key=natural)) or 'none'}")
            elif app not in cleaned:
                now = view.executors()
                if not any(h == host and s == "offline" for s, h, _ in now.values()):
                    cleaned.add(app)
                    gone = sorted((i for i in offline_there[app] if i not in now), key=natural)
                    live = {i for i, (s, _, _) in now.items() if s in ("online", "standby")}
                    log(f"{app}: {host} cleaned up {time.time() - restarted_at:.1f} s after the restart "
                        f"(removed: {', '.join(gone) or 'none'}); online+standby: {describe(now, live)}")
        time.sleep(0.1)
    for view in apps:
        if view.app not in cleaned:
            log(f"{view.app}: {host} not cleaned up within 60 s of its return")
    log(f"done; {host} stays up. Executors move back to it as standbys are spread and the pools rotate.")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
