"""Benchmark: the HTTP service under concurrent load on loopback. Prints figures; asserts nothing.

Starts `assistant serve --workers N` on a free 127.0.0.1 port against the built index
(run `assistant ingest` first), sends a bounded number of /api/chat requests from
several client threads, and reports throughput, latency percentiles and worker memory.

    .venv/bin/python benchmarks/bench_server.py [--workers 2] [--requests 200] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

QUESTIONS = [
    "我想在石柱开外资旅行社，找哪个部门？",
    "县教委牵头哪些任务",
    "石柱第31项的责任单位是谁",
    "我是香港医生，想在石柱开诊所",
    "垫江和石柱在互联网医疗上有什么不同",
    "垫江方案的文号是什么",
    "人行在垫江负责什么",
    "垫江的房地产限购政策",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn workers), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000",
        "ASSISTANT_RATE_LIMIT_BURST": "100000",
        "ASSISTANT_DATA_DIR": os.environ.get("ASSISTANT_DATA_DIR", "/tmp/bench-server-data"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        with httpx.Client(timeout=5) as c:
            while time.time() < deadline:
                try:
                    if c.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            for q in QUESTIONS:  # warm every worker's lazily opened backends
                for _ in range(args.workers):
                    c.post(f"{base}/api/chat", json={"messages": [{"role": "user", "content": q}]})

        def one(i: int) -> tuple[float, int]:
            q = QUESTIONS[i % len(QUESTIONS)]
            t = time.perf_counter()
            r = httpx.post(
                f"{base}/api/chat", json={"messages": [{"role": "user", "content": q}]}, timeout=30
            )
            return (time.perf_counter() - t) * 1000, r.status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - started
        times = sorted(ms for ms, _ in results)
        errors = sum(1 for _, code in results if code != 200)
        print(
            f"workers {args.workers}, clients {args.clients}, requests {args.requests}, errors {errors}"
        )
        print(f"throughput {args.requests / wall:.1f} req/s over {wall:.1f} s")
        print(
            f"latency ms: median {statistics.median(times):.0f}  p95 {times[int(len(times) * 0.95)]:.0f}  "
            f"max {times[-1]:.0f}"
        )
        print(f"server RSS (all workers) {rss_mb(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
