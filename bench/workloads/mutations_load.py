#!/usr/bin/env python3
"""Load generator of the mutations scenario: N clients push batches of updates over HTTP.

Each client owns a disjoint range of rows of bench_items and knows their values (it is
their only client writer), so its updates carry true base values and apply; a fraction of
them instead carries a stale base (the counter's value before its previous increment), so
the server sees a concurrent change and merges (counter: server + (client - base)). Like a
real client, each sends its hybrid logical clock and, once a result named it, the version
its edit was made on.
Clients loop for DURATION seconds, one batch in flight each (a device waits for its push
result), in worker processes so that Python's interpreter lock does not serialise them.

Prints one JSON object: mutations, batches, seconds, latencies (ms) p50/p99, outcome counts.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import random
import threading
import time
from datetime import datetime, timezone


class Clock:
    """The client side of docs/merge.md's hybrid logical clock: send() before each edit."""

    def __init__(self, node):
        self.node, self.pt, self.c = node, 0, 0

    def send(self):
        now = int(time.time() * 1000)
        if now > self.pt:
            self.pt, self.c = now, 0
        else:
            self.c += 1
        t = datetime.fromtimestamp(self.pt / 1000, tz=timezone.utc)
        return "%s.%03dZ-%04X-%s" % (t.strftime("%Y-%m-%dT%H:%M:%S"), self.pt % 1000, self.c, self.node)


def token(secret, subject):
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "bench"}).encode())
    claims = b64(json.dumps({"sub": subject, "exp": int(time.time()) + 7200}).encode())
    mac = hmac.new(secret.encode(), (header + "." + claims).encode(), hashlib.sha256).digest()
    return header + "." + claims + "." + b64(mac)


def client_loop(args, index, deadline, out, lock):
    rng = random.Random(args.seed * 1000 + index)
    first = index * args.rows_per_client + 1
    hits = {first + i: 0 for i in range(args.rows_per_client)}
    titles = {k: "t" for k in hits}
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    headers = {"Authorization": "Bearer " + token(args.secret, "bench"),
               "Content-Type": "application/json"}
    client_id = "bench-%d-%d" % (args.seed, index)
    clock = Clock(client_id)
    versions = {}
    next_id = 1
    lat, muts, batches, statuses = [], 0, 0, {}
    start = time.monotonic()
    while time.monotonic() < deadline:
        ms = []
        keys = rng.sample(sorted(hits), args.batch)
        for k in keys:
            conflicting = rng.random() < args.conflict_ratio and hits[k] > 0
            base_hits = hits[k] - 1 if conflicting else hits[k]
            title = "c%d-%d" % (index, next_id)
            m = {"mutation_id": next_id, "collection": "bench_items", "op": "update",
                 "key": {"id": k}, "set": {"hits": base_hits + 1, "title": title},
                 "base": {"hits": base_hits, "title": titles[k]}, "client_ts": clock.send()}
            if k in versions:
                m["base_version"] = versions[k]
            ms.append(m)
            next_id += 1
        body = json.dumps({"client_id": client_id, "mutations": ms})
        t0 = time.monotonic()
        conn.request("POST", "/v1/mutations", body, headers)
        resp = conn.getresponse()
        data = resp.read()
        t1 = time.monotonic()
        if resp.status != 200:
            raise SystemExit("push answered %d: %s" % (resp.status, data[:300]))
        results = json.loads(data)["results"]
        for m, r in zip(ms, results):
            s = r["status"]
            statuses[s] = statuses.get(s, 0) + 1
            k = m["key"]["id"]
            if r.get("version"):
                versions[k] = r["version"]
            if s == "merged":
                hits[k] = r["row"]["hits"]
                titles[k] = r["row"]["title"]
            elif s == "applied":
                hits[k] = m["set"]["hits"]
                titles[k] = m["set"]["title"]
        lat.append((t1 - t0) * 1000.0)
        muts += len(ms)
        batches += 1
    with lock:
        out.append({"lat": lat, "mutations": muts, "batches": batches, "statuses": statuses,
                    "seconds": time.monotonic() - start})


def worker(args, indexes, deadline, queue):
    out, lock = [], threading.Lock()
    threads = [threading.Thread(target=client_loop, args=(args, i, deadline, out, lock)) for i in indexes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--rows-per-client", type=int, default=1000)
    p.add_argument("--conflict-ratio", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    deadline = time.monotonic() + args.duration
    queue = multiprocessing.Queue()
    groups = [list(range(i, args.clients, args.processes)) for i in range(args.processes)]
    procs = [multiprocessing.Process(target=worker, args=(args, g, deadline, queue)) for g in groups]
    t0 = time.monotonic()
    for pr in procs:
        pr.start()
    parts = []
    for _ in procs:
        parts.extend(queue.get())
    for pr in procs:
        pr.join()
    elapsed = time.monotonic() - t0
    lat = sorted(x for part in parts for x in part["lat"])
    statuses = {}
    for part in parts:
        for k, v in part["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
    print(json.dumps({"mutations": sum(x["mutations"] for x in parts),
                      "batches": sum(x["batches"] for x in parts),
                      "seconds": elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                      "statuses": statuses}))


if __name__ == "__main__":
    main()
