#!/usr/bin/env python3
"""The fraud example's model server: FastAPI on uvicorn, serving what Vigil's routing says.

    server.py --vigil http://127.0.0.1:8080 --model fraud --port 8090 [--token-file .vigil/ingest-token]

  POST /predict   {"requestId"?, "features": {...}, "label"?}  →  {"requestId", "score", "decision",
                  "modelVersion", "servedBy"}. The champion or the canary answers, as Vigil routes the
                  traffic; in shadow mode the candidate also scores a copy, never returned. `label` is the
                  traffic generator's hidden truth: stripped from the request, held for --label-delay
                  seconds (the outcome becomes known later), then posted to Vigil.
  GET  /healthz   what is served now and how much is waiting to be posted.

--class-order-bug N gives version N the classic serving bug of reading the wrong column of
predict_proba: it answers the negative class's probability. Its offline scores (the trainer's `score`)
are right; live it gets most requests wrong. It is how the tests show a canary stopping a candidate the
gates passed.

A background thread polls `GET /v1/models/{model}/routing` (If-None-Match with the last ETag: 304 until
something changes) and loads each version's artifact by its URI (a local path or file://). Another posts
the answers in batches to `/v1/models/{model}/predictions` with the `modelVersion` that answered
("servedBy": "shadow" for the candidate's copies, "fallback" when Vigil says to serve the fallback) and
the labels, once due, to `/labels`; 429 and 503 are retried after their Retry-After, other failures
after a pause, and a batch sent twice is stored once by Vigil. The bearer token is the ingestion token:
VIGIL_INGEST_TOKEN, or --token-file.
"""

from __future__ import annotations

import os

# One thread per prediction: a single row gains nothing from OpenMP and many requests run at once.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import hashlib
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trainer  # noqa: E402 — the artifact format is the trainer's

Scalar = float | int | str | bool | None


class PredictRequest(BaseModel):
    requestId: str | None = Field(default=None, max_length=256)
    features: dict[str, Scalar]
    # The traffic generator's hidden truth; never used to answer.
    label: str | int | None = None


def log(message: str) -> None:
    print(f"[fraud-server] {datetime.now().strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bucket(request_id: str) -> int:
    """0..99, stable per request id: the same request always takes the same route."""
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:4], "big") % 100


def fallback_score(features: dict) -> float:
    """The rules a fraud team keeps for when no model may answer: big online purchases, night abroad."""
    amount = features.get("amount")
    amount = amount if isinstance(amount, (int, float)) else 0
    if amount > 800 and features.get("channel") == "online":
        return 0.9
    if features.get("country") in ("BR", "NG", "RO") and isinstance(features.get("hour"), (int, float)) and features["hour"] <= 5:
        return 0.7
    return 0.05


class Vigil:
    """Vigil's HTTP API with the ingestion token."""

    def __init__(self, base_url: str, model: str, token: str):
        self.base = base_url.rstrip("/")
        self.model = model
        self.token = token

    def request(self, method: str, path: str, body: object | None = None, headers: dict | None = None, timeout: float = 10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/v1/models/{self.model}/{path}", data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers or {}), err.read()

    def post(self, path: str, body: object, stop: threading.Event) -> dict | None:
        """POST until it is taken: 429/503 after Retry-After, network errors after a pause. None if refused (400…)."""
        pause = 1.0
        while True:
            try:
                status, headers, raw = self.request("POST", path, body)
            except (OSError, urllib.error.URLError) as err:
                log(f"POST {path}: {err}; retrying in {pause:.0f}s")
                if stop.wait(pause):
                    raise
                pause = min(pause * 2, 30)
                continue
            if status == 200:
                return json.loads(raw)
            if status in (429, 503):
                wait = float(headers.get("Retry-After") or headers.get("retry-after") or 1)
                if stop.wait(wait):
                    raise RuntimeError(f"stopped while Vigil asked to retry {path} ({status})")
                continue
            log(f"POST {path}: {status} {raw[:500].decode(errors='replace')} (dropped)")
            return None


class Router:
    """What Vigil routes now, with each version's artifact loaded once."""

    def __init__(self, vigil: Vigil):
        self.vigil = vigil
        self.etag: str | None = None
        self.answer: dict | None = None
        self.artifacts: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()

    def poll_once(self) -> bool:
        """True when the answer changed."""
        status, headers, raw = self.vigil.request("GET", "routing", headers={"If-None-Match": self.etag} if self.etag else None)
        if status == 304:
            return False
        if status != 200:
            raise RuntimeError(f"GET routing: {status} {raw[:300].decode(errors='replace')}")
        answer = json.loads(raw)
        for side in ("champion", "canary"):
            served = answer.get(side)
            uri = served and served.get("artifactUri")
            if uri and uri not in self.artifacts:
                started = time.monotonic()
                self.artifacts[uri] = trainer.load_artifact(uri)
                log(f"loaded v{served['version']} from {uri} ({(time.monotonic() - started) * 1000:.0f} ms)")
        with self.lock:
            self.answer = answer
            self.etag = headers.get("ETag") or headers.get("etag")
        self.ready.set()
        return True

    def route(self, request_id: str):
        """(mode, answering (version, artifact) or None, shadow (version, artifact) or None)."""
        with self.lock:
            answer = self.answer
        if answer is None:
            return None, None, None
        if answer["mode"] == "fallback":
            return "fallback", None, None
        champion, canary = answer.get("champion"), answer.get("canary")
        pick = lambda s: (s["version"], self.artifacts[s["artifactUri"]]) if s and s.get("artifactUri") in self.artifacts else None  # noqa: E731
        served, shadow = pick(champion), None
        if canary and pick(canary) and bucket(request_id) < canary["percent"]:
            if canary["split"] == "shadow":
                shadow = pick(canary)
            else:
                served = pick(canary)
        return "model", served, shadow


class Outbox:
    """Predictions and (delayed) labels waiting to be posted to Vigil, posted by one thread."""

    MAX_ROWS = 200_000

    def __init__(self, vigil: Vigil, batch: int, every: float):
        self.vigil, self.batch, self.every = vigil, batch, every
        self.predictions: list[dict] = []
        self.labels: list[tuple[float, dict]] = []  # (due, row), in due order
        self.lock = threading.Lock()
        self.posted = {"predictions": 0, "labels": 0, "duplicates": 0, "refused": 0}

    def add_prediction(self, row: dict) -> None:
        with self.lock:
            self.predictions.append(row)
            if len(self.predictions) > self.MAX_ROWS:
                del self.predictions[: len(self.predictions) - self.MAX_ROWS]

    def add_label(self, due: float, row: dict) -> None:
        with self.lock:
            self.labels.append((due, row))

    def flush(self, stop: threading.Event, everything: bool = False) -> None:
        while True:
            with self.lock:
                batch, self.predictions = self.predictions[: self.batch], self.predictions[self.batch :]
            if not batch:
                break
            r = self.vigil.post("predictions", {"predictions": batch}, stop)
            self._count(r, "predictions", len(batch))
        now = time.time()
        with self.lock:
            cut = len(self.labels) if everything else next((i for i, (due, _) in enumerate(self.labels) if due > now), len(self.labels))
            due, self.labels = [row for _, row in self.labels[:cut]], self.labels[cut:]
        for i in range(0, len(due), self.batch):
            r = self.vigil.post("labels", {"labels": due[i : i + self.batch]}, stop)
            self._count(r, "labels", len(due[i : i + self.batch]))

    def _count(self, r: dict | None, kind: str, n: int) -> None:
        if r is None:
            self.posted["refused"] += n
        else:
            self.posted[kind] += r.get("accepted", r.get("matched", n))
            self.posted["duplicates"] += r.get("duplicates", 0)

    def pending(self) -> dict:
        with self.lock:
            return {"predictions": len(self.predictions), "labels": len(self.labels)}


def create_app(
    vigil_url: str,
    model: str,
    token: str,
    poll_seconds: float = 5,
    flush_seconds: float = 1,
    batch: int = 500,
    label_delay: float = 2,
    class_order_bug: int | None = None,
) -> FastAPI:
    vigil = Vigil(vigil_url, model, token)
    router = Router(vigil)
    outbox = Outbox(vigil, batch, flush_seconds)
    stop = threading.Event()
    latencies: list[float] = []

    def answer(version: int, artifact: dict, features: dict) -> float:
        score = score_one(artifact, features)
        return 1.0 - score if version == class_order_bug else score

    def poll_loop() -> None:
        failures = 0
        while not stop.is_set():
            try:
                if router.poll_once():
                    a = router.answer or {}
                    ch, ca = a.get("champion") or {}, a.get("canary")
                    log(
                        f"routing: mode {a.get('mode')}, champion v{ch.get('version')} {ch.get('percent')}%"
                        + (f", canary v{ca['version']} {ca['percent']}% ({ca['split']})" if ca else "")
                    )
                failures = 0
            except Exception as err:  # noqa: BLE001 — keep serving the last routing
                failures += 1
                if failures in (1, 10) or failures % 60 == 0:
                    log(f"routing poll failed ({failures}x): {type(err).__name__}: {err}")
            stop.wait(poll_seconds if router.ready.is_set() else min(poll_seconds, 1))

    def flush_loop() -> None:
        while not stop.wait(flush_seconds):
            try:
                outbox.flush(stop)
            except Exception as err:  # noqa: BLE001
                if not stop.is_set():
                    log(f"posting failed: {type(err).__name__}: {err}")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        threads = [threading.Thread(target=poll_loop, name="routing", daemon=True), threading.Thread(target=flush_loop, name="outbox", daemon=True)]
        for t in threads:
            t.start()
        yield
        stop.set()
        for t in threads:
            t.join(timeout=5)
        # What was answered is posted before leaving (labels too: better early than lost).
        try:
            outbox.flush(threading.Event(), everything=True)
        except Exception as err:  # noqa: BLE001
            log(f"final flush failed: {err}")

    app = FastAPI(title="fraud model server (Vigil example)", lifespan=lifespan)

    @app.post("/predict")
    def predict(req: PredictRequest) -> dict:
        started = time.perf_counter()
        request_id = req.requestId or uuid.uuid4().hex
        mode, served, shadow = router.route(request_id)
        if mode is None:
            raise HTTPException(503, "no routing from Vigil yet")
        ts = now_iso()
        if mode == "fallback" or served is None:
            if mode == "model":
                raise HTTPException(503, "no champion to serve yet")
            score, version, served_by, threshold, positive, negative = fallback_score(req.features), None, "fallback", 0.5, None, None
        else:
            version, artifact = served
            score = answer(version, artifact, req.features)
            served_by, threshold = "model", artifact["threshold"]
            positive, negative = artifact["positiveClass"], artifact["negativeClass"]
        row = {"requestId": request_id, "ts": ts, "servedBy": served_by, "features": req.features, "prediction": {"score": score}}
        if version is not None:
            row["modelVersion"] = version
        outbox.add_prediction(row)
        if shadow is not None:
            s_version, s_artifact = shadow
            outbox.add_prediction({**row, "modelVersion": s_version, "servedBy": "shadow", "prediction": {"score": answer(s_version, s_artifact, req.features)}})
        if req.label is not None:
            outbox.add_label(time.time() + label_delay, {"requestId": request_id, "label": req.label})
        latencies.append(time.perf_counter() - started)
        if len(latencies) > 5000:
            del latencies[:2500]
        decision = (positive if score >= threshold else negative) if positive is not None else ("flag" if score >= threshold else "pass")
        return {"requestId": request_id, "score": score, "decision": decision, "modelVersion": version, "servedBy": served_by}

    @app.get("/healthz")
    def healthz() -> dict:
        recent = sorted(latencies[-1000:])
        pct = lambda q: round(recent[min(len(recent) - 1, int(q * len(recent)))] * 1000, 2) if recent else None  # noqa: E731
        return {
            "routing": router.answer,
            "pending": outbox.pending(),
            "posted": outbox.posted,
            "latencyMs": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)},
        }

    return app


def score_one(artifact: dict, features: dict) -> float:
    """The positive class's probability for one request's features (missing → NaN, as the trainer reads empty cells)."""
    x = np.empty((1, len(artifact["features"])), dtype=object)
    for j, name in enumerate(artifact["features"]):
        value = features.get(name)
        if artifact["types"][name] == "numeric":
            if value is None or isinstance(value, bool):
                x[0, j] = math.nan
            elif isinstance(value, (int, float)):
                x[0, j] = float(value) if math.isfinite(value) else math.nan
            else:
                raise HTTPException(400, f'features.{name}: "{value}" is not a number')
        else:
            x[0, j] = math.nan if value is None else str(value)
    return min(1.0, max(0.0, trainer.score_rows(artifact, x)[0]))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="the fraud example's model server")
    p.add_argument("--vigil", default="http://127.0.0.1:8080", help="Vigil's HTTP server (ingestion and routing)")
    p.add_argument("--model", default="fraud")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--token-file", help="the ingestion token's file (default: $VIGIL_INGEST_TOKEN)")
    p.add_argument("--poll-seconds", type=float, default=5)
    p.add_argument("--flush-seconds", type=float, default=1)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--label-delay", type=float, default=2, help="seconds before a request's outcome is known")
    p.add_argument("--class-order-bug", type=int, metavar="VERSION", help="serve this version with the wrong predict_proba column (a serving bug, for demos and tests)")
    args = p.parse_args(argv)
    token = os.environ.get("VIGIL_INGEST_TOKEN")
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    if not token:
        print("no ingestion token: set VIGIL_INGEST_TOKEN or pass --token-file", file=sys.stderr)
        return 2
    app = create_app(args.vigil, args.model, token, args.poll_seconds, args.flush_seconds, args.batch_size, args.label_delay, args.class_order_bug)
    log(f"serving {args.model} on http://{args.host}:{args.port}, following {args.vigil}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
