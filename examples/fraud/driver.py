#!/usr/bin/env python3
"""Traffic for the fraud example: card transactions sent to the model server at a steady rate, the
world drifting after a while (dataset.py: amounts rise, online and some countries grow, fraud moves
to small card-testing payments).

    driver.py --server http://127.0.0.1:8090 --rate 20 --drift-after 60 --ramp 30

Each request carries the transaction's true label in `label`, which the server holds back and posts
to Vigil later (the outcome of a card payment is known days later; here seconds). `--world-start`
(Unix seconds) keeps the drift clock across restarts: a world that has drifted stays drifted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402


def log(message: str) -> None:
    print(f"[fraud-driver] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def drift_at(t: float, world_start: float, after: float, ramp: float, peak: float) -> float:
    """0 until `after` seconds into the world, then rising linearly to `peak` over `ramp` seconds."""
    elapsed = t - world_start - after
    if elapsed <= 0:
        return 0.0
    return peak if ramp <= 0 else min(peak, peak * elapsed / ramp)


def wait_until_ready(server: str, timeout: float = 120) -> None:
    """Waits until the server answers /healthz with a routing from Vigil (it starts alongside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server}/healthz", timeout=5) as res:
                if json.loads(res.read()).get("routing"):
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    log(f"{server} is not ready after {timeout:.0f}s; sending anyway")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="card-transaction traffic for the fraud example's server")
    p.add_argument("--server", default="http://127.0.0.1:8090")
    p.add_argument("--rate", type=float, default=20, help="requests per second")
    p.add_argument("--drift-after", type=float, default=60, help="seconds of healthy traffic")
    p.add_argument("--ramp", type=float, default=30, help="seconds from the start of the drift to --max-drift")
    p.add_argument("--max-drift", type=float, default=1.0)
    p.add_argument("--world-start", type=float, help="Unix seconds when the world began (default: now)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until stopped)")
    p.add_argument("--seed", type=int, help="default: random")
    args = p.parse_args(argv)
    world_start = args.world_start if args.world_start is not None else time.time()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    run = uuid.uuid4().hex[:8]  # request ids stay unique across restarts: Vigil stores each once

    url = urllib.parse.urlsplit(args.server)
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
    started = time.monotonic()
    sent = errors = correct = answered = 0
    latencies: list[float] = []
    next_report = started + 10
    batch: list[dict] = []
    chunk = 0
    wait_until_ready(args.server)
    log(f"sending {args.rate:g} req/s to {args.server}; drift after {max(0, args.drift_after - (time.time() - world_start)):.0f}s")
    while not args.seconds or time.monotonic() - started < args.seconds:
        if not batch:
            drift = drift_at(time.time(), world_start, args.drift_after, args.ramp, args.max_drift)
            batch = dataset.generate(max(1, int(args.rate)), seed + chunk, drift)
            chunk += 1
        tx = batch.pop()
        label = tx.pop("label")
        body = json.dumps({"requestId": f"tx-{run}-{sent}", "features": tx, "label": label})
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
            res = conn.getresponse()
            answer = json.loads(res.read())
            if res.status == 200:
                answered += 1
                correct += answer.get("decision") == label
            else:
                errors += 1
                if errors in (1, 10) or errors % 100 == 0:
                    log(f"{res.status}: {answer}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            errors += 1
            if errors in (1, 10) or errors % 100 == 0:
                log(f"request failed ({errors}x): {err}")
            conn.close()
            time.sleep(1)
        latencies.append(time.perf_counter() - t0)
        sent += 1
        now = time.monotonic()
        if now >= next_report:
            lat = sorted(latencies)
            log(
                f"{sent} sent, {errors} errors, drift {drift_at(time.time(), world_start, args.drift_after, args.ramp, args.max_drift):.2f}, "
                f"served accuracy {correct / max(answered, 1):.3f}, latency p50 {lat[len(lat) // 2] * 1000:.1f} ms "
                f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.1f} ms"
            )
            latencies.clear()
            correct = answered = 0
            next_report = now + 10
        # Paced to the rate from the start, so a slow request is caught up rather than lost.
        delay = started + sent / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
