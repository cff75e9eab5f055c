"""Soak: N clients for D seconds mixing JSON chat, SSE stream, /v1 and feedback against a
running server. Prints figures (counts, status codes, p50/p95/max per kind, feedback rows
checked); the test suite runs it briefly and asserts 0 5xx and no lost feedback.

    .venv/bin/python benchmarks/soak.py --url http://127.0.0.1:8000 --admin-token TOKEN \
        [--seconds 60] [--clients 16]

Questions come from the server itself (each plan's suggestion chips), so nothing here is
tied to a particular plan. Feedback is checked through the admin API, so a token is needed.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SoakResult:
    seconds: float
    clients: int
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)  # transport errors, 5xx, broken streams
    feedback_acked: list[tuple[str, str]] = field(default_factory=list)  # (message_id, comment)
    feedback_missing: list[tuple[str, str]] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    def percentile(self, kind: str, p: float) -> float:
        xs = sorted(self.latencies[kind])
        return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")

    def report(self) -> str:
        total = sum(self.statuses.values())
        lines = [
            f"soak: {self.clients} clients, {self.seconds:.0f} s, {total} requests "
            f"({total / self.seconds:.1f}/s); statuses {dict(sorted(self.statuses.items()))}",
        ]
        for kind in sorted(self.latencies):
            lines.append(
                f"  {kind:9s} n={len(self.latencies[kind]):5d}  p50={self.percentile(kind, 0.5) * 1000:6.0f} ms"
                f"  p95={self.percentile(kind, 0.95) * 1000:6.0f} ms  max={max(self.latencies[kind]) * 1000:6.0f} ms"
            )
        every = [x for xs in self.latencies.values() for x in xs]
        every.sort()
        if every:
            lines.append(f"  all       p95={every[int(0.95 * (len(every) - 1))] * 1000:.0f} ms")
        lines.append(
            f"  5xx={self.server_errors}  errors={len(self.errors)}  feedback acked={len(self.feedback_acked)}"
            f" missing={len(self.feedback_missing)}"
        )
        return "\n".join(lines)


def _questions(client: httpx.Client) -> list[tuple[str, str | None]]:
    plans = client.get("/api/plans").json()["plans"]
    out: list[tuple[str, str | None]] = []
    for p in plans:
        for s in client.get(f"/api/plans/{p['id']}").json().get("suggestions", []):
            out += [(s, p["id"]), (s, None)]
    return out or [("方案一共有多少项任务？", None)]


def run_soak(url: str, admin_token: str, seconds: float = 60, clients: int = 16, seed: int = 13) -> SoakResult:
    result = SoakResult(seconds, clients)
    lock = threading.Lock()
    with httpx.Client(base_url=url, timeout=60) as c:
        questions = _questions(c)
    stop_at = time.monotonic() + seconds

    def record(kind: str, status: int, took: float, error: str | None = None) -> None:
        with lock:
            result.statuses[status] += 1
            result.latencies[kind].append(took)
            if error or status >= 500:
                result.errors.append(error or f"{kind} -> {status}")

    def worker(i: int) -> None:
        rng = random.Random(seed + i)
        mids: list[str] = []
        with httpx.Client(base_url=url, timeout=60) as c:
            while time.monotonic() < stop_at:
                q, plan = rng.choice(questions)
                body: dict[str, Any] = {"messages": [{"role": "user", "content": q}]}
                if plan:
                    body["plan_id"] = plan
                kind = rng.choice(["chat", "chat", "stream", "stream", "v1", "feedback"])
                if kind == "feedback" and not mids:
                    kind = "chat"
                started = time.monotonic()
                try:
                    if kind == "chat":
                        r = c.post("/api/chat", json=body)
                        if r.status_code == 200:
                            mids.append(r.json()["message_id"])
                        record(kind, r.status_code, time.monotonic() - started)
                    elif kind == "stream":
                        with c.stream("POST", "/api/chat/stream", json=body) as r:
                            text = "".join(r.iter_text())
                        error = None
                        if r.status_code == 200:
                            if "event: done" not in text:
                                error = "stream ended without a done event"
                            else:
                                done = text.split("event: done\ndata: ", 1)[1].split("\n\n", 1)[0]
                                mids.append(json.loads(done)["message_id"])
                        record(kind, r.status_code, time.monotonic() - started, error)
                    elif kind == "v1":
                        r = c.post("/v1/chat/completions", json={**body, "model": "plan-assistant"})
                        record(kind, r.status_code, time.monotonic() - started)
                    else:
                        mid = rng.choice(mids)
                        comment = f"soak {uuid.uuid4().hex[:12]}"
                        r = c.post("/api/feedback", json={"message_id": mid, "rating": rng.choice(["up", "down"]), "comment": comment})
                        if r.status_code == 200 and r.json().get("ok"):
                            with lock:
                                result.feedback_acked.append((mid, comment))
                        record(kind, r.status_code, time.monotonic() - started)
                except httpx.HTTPError as exc:
                    record(kind, 0, time.monotonic() - started, f"{kind}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every acknowledged feedback must be stored
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as c:
        by_mid: dict[str, set[str]] = {}
        for mid, _ in result.feedback_acked:
            if mid not in by_mid:
                rows = c.get(f"/api/feedback/{mid}").json()["feedback"]
                by_mid[mid] = {r["comment"] for r in rows}
        result.feedback_missing = [(m, cm) for m, cm in result.feedback_acked if cm not in by_mid[m]]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--admin-token", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    print(run_soak(args.url, args.admin_token, args.seconds, args.clients).report())


if __name__ == "__main__":
    main()
