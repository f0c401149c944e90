#!/usr/bin/env python3
"""The broker comparison (issue 19): `pubcat bench` against pubcat serve,
Nchan, RabbitMQ Web-STOMP, Mosquitto and nats-server on this machine, the
same workload for each, in one run, and a Markdown table of the results.

    python3 benches/compare_brokers.py [--duration 10s] [--only NAME ...]

Workload: 1 publisher -> 10 subscribers, 64 B messages. First unpaced
(throughput: deliveries/s), then paced at half of that broker's unpaced
publish rate (latency p50/p99/p99.9 from each message's due time). Beside
each: the broker's CPU (its whole process tree, user + system, as a share of
one core over the measured run) and its RSS at the end (peak in brackets).
pubcat bench itself runs on the same machine, so the broker and the client
share its cores: the CPU columns say who was busy.

The peers are started with tests/peers/*.sh (they install what they need)
and left running; `pubcat serve` is started by this script. Needs a release
build: `cargo build --release`.
"""

import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBCAT = os.path.join(ROOT, "target", "release", "pubcat")
PEERS = os.path.join(ROOT, "tests", "peers")
STATE = os.environ.get("PEERS_STATE_DIR", "/tmp/pubsub-peers")
TICK = os.sysconf("SC_CLK_TCK")


def pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def rabbit_pid():
    out = subprocess.run(["pgrep", "-f", "beam.smp.*rabbit"], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    return min(pids) if pids else None


def peer(name):
    subprocess.run(["bash", os.path.join(PEERS, name + ".sh"), "start"], check=True,
                   stdout=subprocess.DEVNULL)


# name, how to start it, how to find its process, URL and flags for bench
BROKERS = [
    ("pubcat serve (ws)", None, None, "ws://127.0.0.1:17878/bench", []),
    ("Nchan (ws)", "nchan", lambda: pidfile(f"{STATE}/nchan/nginx.pid"),
     "ws://127.0.0.1:18080/pubsub/bench", []),
    ("RabbitMQ Web-STOMP (topic)", "rabbitmq-stomp", rabbit_pid,
     "stomp+ws://127.0.0.1:15674/ws", ["-t", "/topic/bench", "--user", "guest", "--password", "guest"]),
    ("Mosquitto (MQTT QoS 0, ws)", "mosquitto-ws", lambda: pidfile(f"{STATE}/mosquitto-ws/mosquitto.pid"),
     "mqtt+ws://127.0.0.1:18083/mqtt", ["-t", "bench"]),
    ("nats-server (ws)", "nats-ws", lambda: pidfile(f"{STATE}/nats-ws/nats.pid"),
     "nats+ws://127.0.0.1:18085", ["-t", "bench"]),
]


def wait_for_port(port, limit=20.0):
    """Until something accepts connections on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"nothing listens on 127.0.0.1:{port} after {limit:.0f} s")
            time.sleep(0.05)


def tree(root):
    """`root` and every process descended from it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def rss_mb(pids):
    now = peak = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        now += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        peak += int(line.split()[1])
        except OSError:
            pass
    return now / 1024, peak / 1024


def bench(url, flags, duration, rate=None):
    args = [PUBCAT, "-q", "bench", url, *flags, "--pubs", "1", "--subs", "10", "--size", "64",
            "--duration", duration, "--json"]
    if rate:
        args += ["--rate", str(int(rate))]
    out = subprocess.run(args, capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"bench {url} failed (exit {out.returncode}): {out.stderr.strip()}")


def measure(pid, url, flags, duration, rate=None):
    pids = tree(pid)
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    report = bench(url, flags, duration, rate)
    pids = tree(pid)
    cpu = (cpu_seconds(pids) - cpu0) / (time.monotonic() - t0)
    return report, cpu, rss_mb(pids)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", default="10s")
    p.add_argument("--only", nargs="*", help="brokers whose name starts with one of these")
    a = p.parse_args()
    if not os.access(PUBCAT, os.X_OK):
        sys.exit("build pubcat first: cargo build --release")
    rows = []
    for name, start, find, url, flags in BROKERS:
        if a.only and not any(name.lower().startswith(o.lower()) for o in a.only):
            continue
        serve = None
        if start is None:
            serve = subprocess.Popen([PUBCAT, "-q", "serve", "--listen", "127.0.0.1:17878"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pid = serve.pid
            wait_for_port(17878)
        else:
            peer(start)
            pid = find()
        if pid is None:
            sys.exit(f"{name}: cannot find its process")
        print(f"{name}: unpaced...", file=sys.stderr)
        fast, cpu_fast, _ = measure(pid, url, flags, a.duration)
        rate = fast["throughput"]["published_msgs_per_s"] / 2
        print(f"{name}: paced at {rate:,.0f} msgs/s...", file=sys.stderr)
        paced, cpu_paced, (rss, peak) = measure(pid, url, flags, a.duration, rate)
        if serve:
            serve.terminate()
            serve.wait()
        rows.append((name, fast, cpu_fast, rate, paced, cpu_paced, rss, peak))

    host = os.uname().nodename
    cores = os.cpu_count()
    print(f"Measured {datetime.date.today()} on {host} ({cores} cores), `python3 benches/compare_brokers.py"
          f" --duration {a.duration}`: 1 publisher -> 10 subscribers, 64 B.\n")
    print("| broker | deliveries/s (unpaced) | lost | broker CPU | paced at (msgs/s) | p50 ms | p99 ms | p99.9 ms | lost | broker CPU | broker RSS MB (peak) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, fast, cpu_fast, rate, paced, cpu_paced, rss, peak in rows:
        lat = paced["latency_us"]
        print(f"| {name} | {fast['throughput']['msgs_per_s']:,.0f} | {fast['lost']:,} | {cpu_fast:.0%} "
              f"| {rate:,.0f} | {lat['p50'] / 1000:.2f} | {lat['p99'] / 1000:.2f} | {lat['p999'] / 1000:.2f} "
              f"| {paced['lost']:,} | {cpu_paced:.0%} | {rss:.0f} ({peak:.0f}) |")


if __name__ == "__main__":
    main()
