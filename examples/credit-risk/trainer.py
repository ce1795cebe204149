#!/usr/bin/env python3
"""The example credit-risk trainer in Python (NumPy only): the same model and the same trainer
protocol (v2: v1 training, and `score`; docs/trainer-protocol.md) as examples/credit-risk/trainer.ts,
to show that the protocol does not care which language a trainer is written in.

    python examples/credit-risk/trainer.py --data train.csv --holdout holdout.csv --out ./artifacts/job-1
    python examples/credit-risk/trainer.py score --model ./artifacts/job-1/model.json \
        --data input.csv --out predictions.jsonl

Use it for a model in vigil.config.json with
    "training": { "command": ["python3", "/abs/path/examples/credit-risk/trainer.py"] }
(Vigil appends --data, --holdout and --out, plus the runbook's extra arguments).

Arguments: --data <csv> (required), --holdout <csv>, --out <dir> (required), --epochs <n> (40),
--seed <n> (1), --learning-rate <x> (0.5), --l2 <x> (0.0001), --step-delay-ms <n> (0), --sabotage.
Environment: VIGIL_JOB_ID (echoed as `jobId` in every line).

stdout carries JSON lines only: started, one progress per epoch, metrics, artifact (or error).
Exit codes: 0 success, 2 bad input, 1 unexpected failure, 143 stopped by SIGTERM between epochs.

`score` (protocol v2) reads the input CSV with the standard library's csv module (RFC 4180 quoting; the
header names the features, extra columns ignored, an empty cell is missing and imputed with the training
mean), writes one {"score": p} line per row to --out atomically, and ends stdout with
{"type":"scored","jobId":…,"rows":n,"path":…}.

The split, the per-epoch shuffles and --sabotage use the TypeScript trainer's seeded generator
(mulberry32), and the model is the same mini-batch logistic regression, so for the same CSV and seed
both trainers hold out the same rows and train nearly the same weights (float rounding aside). The
artifact is Vigil's `logistic-regression/v1` JSON, including the training rows' reference profile for
the drift monitors: decile edges are numpy.quantile's (the definition Vigil's PSI uses).

The functions are importable (trainer_torch.py reuses the CSV reader, the profile, the metrics and the
artifact writer).
"""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone

import numpy as np

ARTIFACT_FILE = "model.json"
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_SIGTERM = 143
PSI_BINS = 10
EPS = 1e-15
DEFAULTS = {"epochs": 40, "seed": 1, "learning_rate": 0.5, "l2": 1e-4, "step_delay_ms": 0, "batch_size": 256}

USAGE = (
    "usage: trainer.py --data <csv> --out <dir> [--holdout <csv>] [--epochs n] [--seed n]\n"
    "                  [--learning-rate x] [--l2 x] [--step-delay-ms n] [--sabotage]\n"
    "       trainer.py score --model <model.json> --data <csv> --out <predictions.jsonl>\n"
    "Vigil trainer protocol v2: JSON lines on stdout, logs on stderr (docs/trainer-protocol.md).\n"
)


class BadInput(Exception):
    """Input the trainer cannot use (arguments, CSV, one-class data): an error line and exit 2."""


# ----------------------------------------------------------------------------------------------------
# Protocol output


class Protocol:
    """Writes the protocol's JSON lines (flushed at once: Vigil reads them while the job runs)."""

    def __init__(self, job_id: str | None, out=None, err=None):
        self.job_id = job_id
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def emit(self, type_: str, **fields) -> None:
        line = {"type": type_, "jobId": self.job_id, **fields}
        self.out.write(json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n")
        self.out.flush()

    def log(self, message: str) -> None:
        self.err.write(f"trainer: {message}\n")
        self.err.flush()


# ----------------------------------------------------------------------------------------------------
# Arguments

_OPTIONS = {"--data", "--holdout", "--out", "--epochs", "--seed", "--learning-rate", "--l2", "--step-delay-ms"}
_FLAGS = {"--sabotage"}


def _number(name: str, raw: str | None, fallback, check, expect: str, integer: bool):
    if raw is None:
        return fallback
    try:
        v = float(raw) if raw.strip() != "" and "_" not in raw else float("nan")
    except ValueError:
        v = float("nan")
    if not math.isfinite(v) or not check(v) or (integer and not v.is_integer()):
        raise BadInput(f'--{name} "{raw}": must be {expect}')
    return int(v) if integer else v


def parse_args(argv: list[str]) -> dict:
    """The protocol's arguments (`--name value` or `--name=value`); anything else is BadInput."""
    values: dict[str, str] = {}
    sabotage = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if name in _FLAGS and not eq:
            sabotage = True
        elif name in _OPTIONS:
            if eq:
                values[name] = inline
            elif i + 1 < len(argv):
                i += 1
                values[name] = argv[i]
            else:
                raise BadInput(f"{name} needs a value")
        else:
            raise BadInput(f"unknown argument '{arg}'" if arg.startswith("-") else f"unexpected argument '{arg}'")
        i += 1
    if not values.get("--data"):
        raise BadInput("--data <csv> is required")
    if not values.get("--out"):
        raise BadInput("--out <dir> is required")
    return {
        "data": values["--data"],
        "holdout": values.get("--holdout") or None,
        "out": values["--out"],
        "epochs": _number("epochs", values.get("--epochs"), DEFAULTS["epochs"], lambda v: 1 <= v <= 100_000, "an integer from 1 to 100000", True),
        "seed": _number("seed", values.get("--seed"), DEFAULTS["seed"], lambda v: abs(v) <= 2**31, "an integer", True),
        "learning_rate": _number("learning-rate", values.get("--learning-rate"), DEFAULTS["learning_rate"], lambda v: 0 < v <= 100, "a number in (0, 100]", False),
        "l2": _number("l2", values.get("--l2"), DEFAULTS["l2"], lambda v: v >= 0, "a number ≥ 0", False),
        "step_delay_ms": _number("step-delay-ms", values.get("--step-delay-ms"), DEFAULTS["step_delay_ms"], lambda v: 0 <= v <= 600_000, "an integer number of milliseconds from 0 to 600000", True),
        "sabotage": sabotage,
    }


# ----------------------------------------------------------------------------------------------------
# Data


def _csv_error(file: str, reason: str, row: int | None = None, column: str | None = None, line: int | None = None) -> BadInput:
    where = ", ".join(
        p for p in (f"row {row}" if row is not None else None, f"line {line}" if line is not None else None, f'column "{column}"' if column is not None else None) if p
    )
    return BadInput(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")


def read_dataset_csv(file: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Features, X (rows × features, float64) and y (0/1) of a dataset CSV: a header of feature names
    plus a `label` column, then finite numbers and 0/1 labels. Errors name file, row, line and column."""
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise _csv_error(file, "file does not exist") from None
    except OSError as e:
        raise _csv_error(file, f"cannot read: {e.strerror or e}") from None
    lines = text.replace("\r\n", "\n").split("\n")
    header_line = next((i for i, l in enumerate(lines) if l.strip() != ""), -1)
    if header_line < 0:
        raise _csv_error(file, 'file is empty (expected a header with feature names and "label")')
    header = [h.strip() for h in lines[header_line].lstrip("\ufeff").split(",")]
    seen: set[str] = set()
    for i, h in enumerate(header):
        if h == "":
            raise _csv_error(file, f"header column {i + 1} has no name", line=header_line + 1)
        if h in seen:
            raise _csv_error(file, f'duplicate header column "{h}"', column=h, line=header_line + 1)
        seen.add(h)
    if "label" not in header:
        raise _csv_error(file, 'header has no "label" column', line=header_line + 1)
    label_idx = header.index("label")
    features = [h for i, h in enumerate(header) if i != label_idx]
    if not features:
        raise _csv_error(file, 'header has no feature columns besides "label"', line=header_line + 1)

    rows: list[list[float]] = []
    labels: list[int] = []
    row_no = 0
    for li in range(header_line + 1, len(lines)):
        line = lines[li]
        if line.strip() == "":
            continue
        row_no += 1
        cells = line.split(",")
        if len(cells) != len(header):
            raise _csv_error(file, f"expected {len(header)} columns, got {len(cells)}", row=row_no, line=li + 1)
        values: list[float] = []
        for c, cell in enumerate(cells):
            raw = cell.strip()
            try:
                v = float(raw) if raw != "" and "_" not in raw else float("nan")
            except ValueError:
                v = float("nan")
            if c == label_idx:
                if v != 0 and v != 1:
                    raise _csv_error(file, f'label must be 0 or 1, got "{raw}"', row=row_no, column="label", line=li + 1)
                labels.append(int(v))
            else:
                if not math.isfinite(v):
                    raise _csv_error(file, "value is missing" if raw == "" else f'"{raw}" is not a finite number', row=row_no, column=header[c], line=li + 1)
                values.append(v)
        rows.append(values)
    X = np.array(rows, dtype=np.float64).reshape(len(rows), len(features))
    return features, X, np.array(labels, dtype=np.float64)


def check_labels(y: np.ndarray, what: str) -> None:
    if len(y) == 0:
        raise BadInput(f"{what} has no rows")
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        raise BadInput(f"{what} holds only label {0 if pos == 0 else 1}; both classes are needed")


# ----------------------------------------------------------------------------------------------------
# Seeded randomness: the TypeScript trainer's mulberry32, so both trainers split and shuffle alike

_M32 = 0xFFFFFFFF


class Mulberry32:
    """mulberry32 (examples/credit-risk/dataset.ts createRng). Its state advances by a constant, so a
    block of draws is computed at once with uint64 arithmetic (products of two 32-bit values fit)."""

    def __init__(self, seed: int):
        self.state = ((int(seed) & _M32) ^ 0x9E3779B9) & _M32

    def uniforms(self, count: int) -> np.ndarray:
        """The next `count` draws in [0, 1)."""
        steps = np.arange(1, count + 1, dtype=np.uint64)
        t = (np.uint64(self.state) + steps * np.uint64(0x6D2B79F5)) & np.uint64(_M32)
        self.state = (self.state + count * 0x6D2B79F5) & _M32
        m = np.uint64(_M32)
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & m
        t = (t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m)) & m
        return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0

    def shuffle_in_place(self, a: list) -> None:
        """Fisher–Yates from the end, j = floor(u · (i + 1)), as the TypeScript trainer does."""
        n = len(a)
        if n < 2:
            return
        u = self.uniforms(n - 1)
        i_values = np.arange(n - 1, 0, -1, dtype=np.float64)
        js = np.floor(u * (i_values + 1)).astype(np.int64).tolist()
        for step, j in enumerate(js):
            i = n - 1 - step
            a[i], a[j] = a[j], a[i]


def _int32(x: int) -> int:
    x &= _M32
    return x - (1 << 32) if x >= 1 << 31 else x


def split_holdout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, holdout): a seeded shuffle, the last `fraction` held out."""
    order = list(range(n))
    Mulberry32(_int32(seed) ^ 0x5F3759DF).shuffle_in_place(order)
    n_hold = max(1, math.floor(n * fraction + 0.5))
    cut = n - n_hold
    return np.array(order[:cut], dtype=np.int64), np.array(order[cut:], dtype=np.int64)


def sabotage_labels(y: np.ndarray, seed: int) -> np.ndarray:
    """Labels shuffled across rows (class balance kept): a model that learns nothing real."""
    labels = y.tolist()
    Mulberry32(_int32(seed) ^ 0x0BAD5EED).shuffle_in_place(labels)
    return np.array(labels, dtype=np.float64)


# ----------------------------------------------------------------------------------------------------
# Statistics shared with Vigil


def _sequential_sum(v: np.ndarray) -> float:
    """Left-to-right sum (np.sum is pairwise): means and deviations agree with Vigil's to the bit."""
    return float(np.cumsum(v)[-1]) if len(v) else 0.0


def mean_std(col: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation (ddof 0)."""
    n = len(col)
    mean = _sequential_sum(col) / n
    return mean, math.sqrt(_sequential_sum((col - mean) ** 2) / n)


def feature_reference(col: np.ndarray) -> dict:
    """One feature's reference for the drift monitors: the 9 inner deciles (numpy.quantile, 'linear'),
    the 10 bin shares with searchsorted(side='right') binning, and summary statistics."""
    col = col[np.isfinite(col)]
    n = len(col)
    if n == 0:
        raise BadInput("cannot build a reference from no finite values")
    edges = np.quantile(col, [i / PSI_BINS for i in range(1, PSI_BINS)])
    counts = np.bincount(np.searchsorted(edges, col, side="right"), minlength=PSI_BINS)
    mean, std = mean_std(col)
    return {
        "edges": [float(e) for e in edges],
        "shares": [float(c) / n for c in counts],
        "mean": mean,
        "std": std,
        "min": float(col.min()),
        "max": float(col.max()),
        "count": int(n),
    }


def reference_profile(X: np.ndarray, features: list[str]) -> dict:
    return {"rows": int(X.shape[0]), "features": {f: feature_reference(X[:, j]) for j, f in enumerate(features)}}


def sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Rank-sum (Mann–Whitney) AUC, tied scores get their average rank; NaN with one class."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    n = len(s)
    # Average 1-based rank of each run of equal scores.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], n] - 1
    ranks = np.repeat((starts + ends) / 2 + 1, ends - starts + 1)
    pos = labels[order] == 1
    n_pos = int(pos.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
    """AUC, accuracy at `threshold`, log-loss (clipped to [1e-15, 1 − 1e-15]) and expected calibration
    error over 10 equal-width score bins — Vigil's definitions (logisticRegression.ts evaluateScores)."""
    n = len(scores)
    p = np.clip(scores, EPS, 1 - EPS)
    log_loss = -_sequential_sum(labels * np.log(p) + (1 - labels) * np.log(1 - p)) / n
    bins = np.minimum(9, np.floor(scores * 10).astype(np.int64))
    ece = 0.0
    for b in range(10):
        mask = bins == b
        nb = int(mask.sum())
        if nb:
            ece += (nb / n) * abs(_sequential_sum(scores[mask]) / nb - _sequential_sum(labels[mask]) / nb)
    return {
        "auc": roc_auc(scores, labels),
        "accuracy": float(((scores >= threshold).astype(np.float64) == labels).mean()),
        "logLoss": log_loss,
        "calibrationError": ece,
    }


def score(artifact: dict, X: np.ndarray) -> np.ndarray:
    Z = (X - np.array(artifact["mean"])) / np.array(artifact["std"])
    return sigmoid(artifact["bias"] + Z @ np.array(artifact["weights"]))


def utc_now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def write_artifact(out_dir: str, artifact: dict) -> str:
    """Writes <out_dir>/model.json atomically (a temporary file renamed into place); returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    file = os.path.join(os.path.abspath(out_dir), ARTIFACT_FILE)
    tmp = f"{file}.{os.getpid()}.{time.time_ns()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(artifact, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, file)
    return file


def load_inputs(args: dict) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, X_train, y_train, X_holdout, y_holdout) per the protocol: --holdout, or a seeded 80/20
    split of --data; --sabotage shuffles the training labels only (the holdout keeps the truth)."""
    features, X, y = read_dataset_csv(args["data"])
    if len(y) == 0:
        raise _csv_error(args["data"], "no data rows after the header")
    if args["holdout"]:
        h_features, Xh, yh = read_dataset_csv(args["holdout"])
        if len(yh) == 0:
            raise _csv_error(args["holdout"], "no data rows after the header")
        missing = [f for f in features if f not in h_features]
        extra = [f for f in h_features if f not in features]
        if missing or extra:
            raise _csv_error(
                args["holdout"],
                f"columns differ from {args['data']}"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unexpected: {', '.join(extra)}" if extra else ""),
            )
        Xh = Xh[:, [h_features.index(f) for f in features]]
        Xt, yt = X, y
    else:
        train_idx, hold_idx = split_holdout(len(y), 0.2, args["seed"])
        Xt, yt, Xh, yh = X[train_idx], y[train_idx], X[hold_idx], y[hold_idx]
    if args["sabotage"]:
        yt = sabotage_labels(yt, args["seed"])
    check_labels(yt, "training data")
    check_labels(yh, "holdout")
    return features, Xt, yt, Xh, yh


# ----------------------------------------------------------------------------------------------------
# Training


def train(args: dict, proto: Protocol, stopped) -> int:
    features, Xt, yt, Xh, yh = load_inputs(args)
    n, k = Xt.shape
    proto.emit(
        "started",
        rows=n if args["holdout"] else n + len(yh),
        trainRows=n,
        holdoutRows=len(yh),
        features=features,
        sabotage=args["sabotage"],
        device="cpu",
        # The GPUs Vigil gave the job (models[].training.gpus); this NumPy trainer runs on the CPU.
        visibleGpus=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    proto.log(
        f"training on {args['data']} ({n} rows, {k} features{', SABOTAGED labels' if args['sabotage'] else ''}), "
        f"holdout {args['holdout'] or '80/20 split'}, {args['epochs']} epochs, seed {args['seed']} (NumPy {np.__version__})"
    )
    started = time.monotonic()

    stats = [mean_std(Xt[:, j]) for j in range(k)]
    mean = np.array([m for m, _ in stats])
    std = np.array([s if s > 1e-12 else 1.0 for _, s in stats])
    Z = (Xt - mean) / std
    w = np.zeros(k)
    b = 0.0
    lr, l2, batch = args["learning_rate"], args["l2"], DEFAULTS["batch_size"]
    rng = Mulberry32(args["seed"])
    order = list(range(n))
    for epoch in range(1, args["epochs"] + 1):
        rng.shuffle_in_place(order)
        idx = np.array(order, dtype=np.int64)
        for start in range(0, n, batch):
            rows = idx[start : start + batch]
            Zb = Z[rows]
            err = sigmoid(Zb @ w + b) - yt[rows]
            m = len(rows)
            w = w - lr * ((Zb.T @ err) / m + l2 * w)
            b = b - lr * (float(err.sum()) / m)
        p = np.clip(sigmoid(Z @ w + b), EPS, 1 - EPS)
        loss = -float(np.mean(yt * np.log(p) + (1 - yt) * np.log(1 - p)))
        proto.emit("progress", step=epoch, total=args["epochs"], loss=loss)
        if pause(args["step_delay_ms"], stopped):
            proto.log("stopped before finishing; no artifact written")
            return EXIT_SIGTERM

    artifact = {
        "kind": "logistic-regression/v1",
        "features": features,
        "weights": [float(v) for v in w],
        "bias": float(b),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "threshold": 0.5,
        "reference": reference_profile(Xt, features),
        "metrics": {},
        "trainedAt": utc_now_iso(),
        "seed": args["seed"],
    }
    ev = evaluate_scores(score(artifact, Xh), yh, artifact["threshold"])
    artifact["metrics"] = {**ev, "trainRows": int(n), "holdoutRows": int(len(yh))}
    if not all(math.isfinite(v) for v in ev.values()):
        raise RuntimeError(f"training diverged: holdout metrics {ev}")
    proto.emit("metrics", **ev, holdoutRows=int(len(yh)), trainRows=int(n))
    file = write_artifact(args["out"], artifact)
    proto.log(f"trained in {int((time.monotonic() - started) * 1000)} ms: holdout AUC {ev['auc']:.4f}, accuracy {ev['accuracy']:.4f}; wrote {file}")
    proto.emit("artifact", path=file)
    return 0


def pause(delay_ms: int, stopped) -> bool:
    """Sleeps between epochs in short slices so SIGTERM is acted on promptly; True once stopped."""
    until = time.monotonic() + delay_ms / 1000
    while not stopped():
        left = until - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.05))
    return True


SCORE_BLOCK = 5000


def parse_score_args(argv: list[str]) -> dict:
    """`score`'s arguments: --model, --data, --out (`--name value` or `--name=value`)."""
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        name, eq, inline = argv[i].partition("=")
        if name not in ("--model", "--data", "--out"):
            raise BadInput(f"score: unknown argument '{argv[i]}'" if argv[i].startswith("-") else f"score: unexpected argument '{argv[i]}'")
        if eq:
            values[name] = inline
        elif i + 1 < len(argv):
            i += 1
            values[name] = argv[i]
        else:
            raise BadInput(f"score: {name} needs a value")
        i += 1
    for name, what in (("--model", "<artifact>"), ("--data", "<csv>"), ("--out", "<file>")):
        if not values.get(name):
            raise BadInput(f"score: {name} {what} is required")
    return {"model": values["--model"], "data": values["--data"], "out": values["--out"]}


def load_artifact(file: str) -> dict:
    try:
        with open(file, encoding="utf-8") as fh:
            artifact = json.load(fh)
    except FileNotFoundError:
        raise BadInput(f"{file}: the model artifact does not exist") from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{file}: not a readable JSON artifact: {e}") from None
    if not isinstance(artifact, dict) or artifact.get("kind") != "logistic-regression/v1":
        raise BadInput(f'{file}: not a "logistic-regression/v1" artifact')
    return artifact


def read_score_input(file: str, features: list[str]) -> np.ndarray:
    """The input CSV's feature columns in the model's order; an empty cell is NaN (missing)."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            records = [r for r in csv.reader(fh) if r and not (len(r) == 1 and r[0].strip() == "")]
    except FileNotFoundError:
        raise _csv_error(file, "file does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _csv_error(file, f"cannot read: {e}") from None
    if not records:
        raise _csv_error(file, "the file is empty (a header row is required)")
    header = [h.strip() for h in records[0]]
    missing = [f for f in features if f not in header]
    if missing:
        raise _csv_error(file, "missing feature column" + ("s " if len(missing) > 1 else " ") + ", ".join(f'"{f}"' for f in missing))
    index = [header.index(f) for f in features]
    X = np.empty((len(records) - 1, len(features)), dtype=np.float64)
    for r, record in enumerate(records[1:]):
        if len(record) != len(header):
            raise _csv_error(file, f"expected {len(header)} fields, found {len(record)}", row=r + 1)
        for j, k in enumerate(index):
            cell = record[k].strip()
            if cell == "":
                X[r, j] = np.nan
                continue
            try:
                v = float(cell)
            except ValueError:
                v = float("nan")
            if not math.isfinite(v):
                raise _csv_error(file, f'"{cell}" is not a finite number', row=r + 1, column=features[j])
            X[r, j] = v
    return X


def score_rows(args: dict, proto: Protocol, stopped) -> int:
    """`score`: one {"score": p} line per input row, written atomically to --out."""
    artifact = load_artifact(args["model"])
    features = list(artifact["features"])
    X = read_score_input(args["data"], features)
    proto.emit("started", rows=int(X.shape[0]), features=features)
    # A missing value is imputed with the training mean: it contributes nothing, as in the TypeScript scorer.
    X = np.where(np.isnan(X), np.array(artifact["mean"]), X)
    lines: list[str] = []
    total = max(1, math.ceil(X.shape[0] / SCORE_BLOCK))
    for block in range(total):
        for p in score(artifact, X[block * SCORE_BLOCK : (block + 1) * SCORE_BLOCK]):
            lines.append(json.dumps({"score": float(p)}, allow_nan=False) + "\n")
        proto.emit("progress", step=block + 1, total=total)
        if stopped():
            proto.log("stopped before finishing; no predictions written")
            return EXIT_SIGTERM
    file = os.path.abspath(args["out"])
    os.makedirs(os.path.dirname(file), exist_ok=True)
    tmp = f"{file}.{os.getpid()}.{time.time_ns()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("".join(lines))
    os.replace(tmp, file)
    proto.log(f"scored {X.shape[0]} rows of {args['data']} with {args['model']}; wrote {file}")
    proto.emit("scored", rows=int(X.shape[0]), path=file)
    return 0


def run(argv: list[str], env: dict, proto_factory=Protocol, stopped=lambda: False, train_fn=None) -> int:
    """One training or scoring job per the protocol; returns the exit code. `train_fn` replaces the
    NumPy model (trainer_torch.py) while keeping the arguments, the error lines and the exit codes."""
    proto = proto_factory(env.get("VIGIL_JOB_ID") or None)
    try:
        if any(a in ("-h", "--help") for a in argv):
            sys.stderr.write(USAGE)
            return 0
        if argv and argv[0] == "score":
            return score_rows(parse_score_args(argv[1:]), proto, stopped)
        return (train_fn or train)(parse_args(argv), proto, stopped)
    except BadInput as e:
        proto.emit("error", message=str(e))
        proto.log(f"error: {e}")
        return EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 — anything else is a failure the runner should see by name
        message = f"{type(e).__name__}: {e}"
        import traceback

        traceback.print_exc(file=sys.stderr)
        try:
            proto.emit("error", message=message)
        except Exception:  # noqa: BLE001 — e.g. stdout gone; the exit code still tells
            pass
        proto.log(f"error: {message}")
        return EXIT_FAILURE


def install_sigterm() -> "callable":
    """SIGTERM stops training at the next epoch boundary (exit 143, no artifact); if that does not come
    within half a second (a long read), the process exits anyway."""
    state = {"stop": False}

    def on_term(_signum, _frame):
        if state["stop"]:
            return
        state["stop"] = True
        sys.stderr.write("trainer: SIGTERM received, stopping\n")
        timer = threading.Timer(0.5, lambda: os._exit(EXIT_SIGTERM))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_term)
    return lambda: state["stop"]


def main() -> None:
    stopped = install_sigterm()
    code = run(sys.argv[1:], dict(os.environ), stopped=stopped)
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
