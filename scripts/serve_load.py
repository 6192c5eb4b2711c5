#!/usr/bin/env python3
"""Bounded load test of `recurrent serve` on 127.0.0.1 (not part of CI).

Starts the server on a free loopback port, then N client threads for a fixed time, each
alternating a next-token request (POST /api/next) and a 100-token generation (POST
/api/generate, read to its end). Prints p50/p99 latency of each kind, the request and error
counts, and the server's resident memory (VmRSS) after warm-up and at the end, then stops the
server with SIGINT (Ctrl-C) and checks that it exits 0. Every loop is bounded in time and count;
only 127.0.0.1 is ever contacted.

    dotnet build src/Recurrent.Cli -c Release
    scripts/serve_load.py runs/shakespeare --clients 4 --seconds 60
"""
import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "Recurrent.Cli", "bin", "Release", "net10.0", "Recurrent.Cli.dll")
PROMPTS = ["ROMEO:\nWhat light", "First Citizen:\nBefore we proceed", "KING HENRY:\nOnce more unto", "To be, or not to be"]
MAX_REQUESTS_PER_CLIENT = 100_000


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def client(port, deadline, index, next_ms, gen_ms, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    for i in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= deadline:
            break
        text = PROMPTS[(index + i) % len(PROMPTS)]
        try:
            start = time.perf_counter()
            conn.request("POST", "/api/next", json.dumps({"text": text, "k": 10}), headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or b'"tokens"' not in body:
                errors.append(f"next {response.status}")
            else:
                next_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            conn.request("POST", "/api/generate", json.dumps({"text": text, "length": 100, "seed": i}), headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or body.count(b"event: token") != 100 or b"event: done" not in body:
                errors.append(f"generate {response.status}")
            else:
                gen_ms.append((time.perf_counter() - start) * 1000)
        except (OSError, http.client.HTTPException) as e:
            errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def run_phase(port, clients, seconds):
    next_ms, gen_ms, errors = [], [], []
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, deadline, k, next_ms, gen_ms, errors)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return next_ms, gen_ms, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="checkpoint or run directory")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 0 < args.seconds <= 3600:
        sys.exit("--clients must be 1..64 and --seconds 0..3600")

    server = subprocess.Popen(["dotnet", CLI, "serve", args.model, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stdout:
            match = re.search(r" at http://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
                break
        if port is None:
            sys.exit("the server printed no address")
        run_phase(port, args.clients, args.warmup)
        rss_start = rss_kib(server.pid)
        next_ms, gen_ms, errors = run_phase(port, args.clients, args.seconds)
        rss_end = rss_kib(server.pid)
        print(f"{args.clients} clients for {args.seconds:.0f} s (after {args.warmup:.0f} s of warm-up)")
        print(f"next token (POST /api/next):       {len(next_ms):6d} requests, p50 {percentile(next_ms, 50):7.1f} ms, p99 {percentile(next_ms, 99):7.1f} ms")
        print(f"100-token generation (SSE):        {len(gen_ms):6d} requests, p50 {percentile(gen_ms, 50):7.1f} ms, p99 {percentile(gen_ms, 99):7.1f} ms")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        print(f"server RSS: {rss_start / 1024:.1f} MiB after warm-up, {rss_end / 1024:.1f} MiB at the end ({(rss_end - rss_start) / 1024:+.1f} MiB)")
        if next_ms and gen_ms:
            print(f"mean: next {statistics.mean(next_ms):.1f} ms, generation {statistics.mean(gen_ms):.1f} ms")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(15)
            print(f"server stopped on SIGINT with exit code {code}")
        except subprocess.TimeoutExpired:
            server.kill()
            print("server did not stop within 15 s of SIGINT; killed")
            sys.exit(1)
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
