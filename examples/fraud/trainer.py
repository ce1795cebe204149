#!/usr/bin/env python3
"""The fraud example's trainer: scikit-learn gradient boosting, speaking Vigil's trainer protocol v2.

    trainer.py --data train.csv [--holdout holdout.csv] --out DIR [options]      train
    trainer.py score --model ARTIFACT --data input.csv --out predictions.jsonl   score (v2)

Train reads labelled CSV (RFC 4180; a header of features plus `label`, whose values are the task's
classes, `--positive-class` / `--negative-class`, default 1 / 0; numeric columns are those whose every
non-empty cell is a finite number, the others categorical; an empty cell is missing), fits a Pipeline
(OrdinalEncoder for the categorical columns → HistGradientBoostingClassifier with native categorical
splits), printing one `progress` line per boosting step, measures the holdout, writes
`<out>/model.joblib` atomically and prints `metrics` then `artifact`. Score loads such an artifact and
writes one `{"score": p}` per input row (p = the positive class's probability), then `scored`.

stdout carries only the protocol's JSON lines; logs go to stderr. Exit codes: 0 done, 2 bad input
(naming the file, row and column), 1 any other failure, 143 on SIGTERM (no artifact, no output).
See docs/trainer-protocol.md.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import sys
import time
from datetime import datetime, timezone

# SIGTERM is honoured from the start (main installs the handler before scikit-learn is imported), also
# while data is read. The model server imports this module for its artifact code and keeps its own handlers.
_stop = False


def _on_sigterm(_signum, _frame):
    global _stop
    _stop = True


JOB_ID = os.environ.get("VIGIL_JOB_ID") or None
ARTIFACT_KIND = "sklearn-hist-gbm/v1"


class BadInput(Exception):
    """Exit 2: the arguments, the data or the artifact cannot be used."""


class Stopped(Exception):
    """Exit 143: SIGTERM."""


def emit(type_: str, **fields) -> None:
    print(json.dumps({"type": type_, "jobId": JOB_ID, **fields}, allow_nan=False), flush=True)


def q(text: str) -> str:
    """A value quoted as the messages show it: "fraud"."""
    return json.dumps(text, ensure_ascii=False)


def log(message: str) -> None:
    print(f"[fraud-trainer] {message}", file=sys.stderr, flush=True)


def check_stop() -> None:
    if _stop:
        raise Stopped()


# ---------------------------------------------------------------------------------------------- args

TRAIN_OPTIONS = {
    "--data": str,
    "--holdout": str,
    "--out": str,
    "--seed": int,
    "--iterations": int,
    "--steps": int,
    "--learning-rate": float,
    "--max-leaf-nodes": int,
    "--positive-class": str,
    "--negative-class": str,
    "--step-delay-ms": int,
}
TRAIN_FLAGS = {"--sabotage"}
SCORE_OPTIONS = {"--model": str, "--data": str, "--out": str}


def parse_args(argv: list[str], options: dict, flags: set) -> dict:
    """`--name value` and `--name=value`; anything unknown or malformed is bad input."""
    out: dict = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if name in flags and not eq:
            out[name] = True
            i += 1
            continue
        if name not in options:
            raise BadInput(f"unknown argument {arg!r}")
        if eq:
            raw = inline
            i += 1
        else:
            if i + 1 >= len(argv):
                raise BadInput(f"{name} needs a value")
            raw = argv[i + 1]
            i += 2
        try:
            value = options[name](raw)
        except ValueError:
            raise BadInput(f"{name}: {raw!r} is not a valid {options[name].__name__}") from None
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise BadInput(f"{name}: {raw!r} is not a finite number")
        out[name] = value
    return out


# ---------------------------------------------------------------------------------------------- CSV


def read_csv(path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, records and each record's 1-based line; blank records are skipped, a ragged one is bad input."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as err:
        raise BadInput(f"{path}: cannot read: {err.strerror}") from None
    with f:
        reader = csv.reader(f, strict=True)
        header: list[str] | None = None
        records: list[list[str]] = []
        lines: list[int] = []
        try:
            for record in reader:
                if len(records) % 2000 == 0:
                    check_stop()
                if not record or (len(record) == 1 and record[0] == ""):
                    continue
                if header is None:
                    header = [h.strip() for h in record]
                    continue
                if len(record) != len(header):
                    raise BadInput(f"{path}: row {len(records) + 1}, line {reader.line_num}: {len(record)} fields, the header has {len(header)}")
                records.append(record)
                lines.append(reader.line_num)
        except csv.Error as err:
            raise BadInput(f"{path}: line {reader.line_num}: {err}") from None
    if header is None:
        raise BadInput(f"{path}: empty file (no header)")
    seen = set()
    for h in header:
        if h == "" or h in seen:
            raise BadInput(f"{path}: header: {'an empty' if h == '' else f'a duplicate column {q(h)}'} column name")
        seen.add(h)
    return header, records, lines


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def column_types(path: str, features: list[str], columns: list[list[str]]) -> dict[str, str]:
    """numeric when every non-empty cell is a finite number (and one is present), else categorical."""
    types = {}
    for name, cells in zip(features, columns):
        filled = [c for c in cells if c != ""]
        types[name] = "numeric" if filled and all(_number(c) is not None for c in filled) else "categorical"
    return types


def feature_matrix(path: str, features: list[str], types: dict, columns: list[list[str]]):
    """An object array (rows × features): numbers as float (missing → NaN), categories as text (missing → NaN)."""
    import numpy as np

    n = len(columns[0]) if columns else 0
    x = np.empty((n, len(features)), dtype=object)
    for j, (name, cells) in enumerate(zip(features, columns)):
        if types[name] == "numeric":
            for i, cell in enumerate(cells):
                if cell == "":
                    x[i, j] = math.nan
                    continue
                value = _number(cell)
                if value is None:
                    raise BadInput(f"{path}: row {i + 1}, column {q(name)}: {q(cell)} is not a finite number")
                x[i, j] = value
        else:
            for i, cell in enumerate(cells):
                x[i, j] = cell if cell != "" else math.nan
    return x


def labelled(path: str, opts: dict):
    """Features (names, types, matrix) and 0/1 labels of a labelled CSV."""
    header, records, lines = read_csv(path)
    if "label" not in header:
        raise BadInput(f"{path}: the header has no \"label\" column")
    features = [h for h in header if h != "label"]
    if not features:
        raise BadInput(f"{path}: no feature columns besides \"label\"")
    if not records:
        raise BadInput(f"{path}: no data rows")
    positive, negative = opts["--positive-class"], opts["--negative-class"]
    li = header.index("label")
    labels = []
    for i, record in enumerate(records):
        value = record[li].strip()
        if value == positive:
            labels.append(1)
        elif value == negative:
            labels.append(0)
        else:
            raise BadInput(
                f"{path}: row {i + 1}, line {lines[i]}, column \"label\": {q(value)} is neither the positive class "
                f"{q(positive)} nor the negative class {q(negative)}"
            )
    columns = [[r[header.index(f)] for r in records] for f in features]
    return features, columns, labels


# ---------------------------------------------------------------------------------------------- metrics


def metrics_of(scores, labels, threshold: float) -> dict:
    """auc (rank sum, average ranks for ties), accuracy at threshold, log loss, ECE over 10 bins."""
    import numpy as np
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=int)
    n = len(y)
    pos = int(y.sum())
    neg = n - pos
    ranks = rankdata(s)
    auc = float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg)) if pos and neg else 0.5
    clipped = np.clip(s, 1e-15, 1 - 1e-15)
    log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    bins = np.minimum((s * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        mask = bins == b
        if mask.any():
            ece += mask.sum() / n * abs(s[mask].mean() - y[mask].mean())
    return {
        "auc": auc,
        "accuracy": float(np.mean((s >= threshold) == (y == 1))),
        "logLoss": log_loss,
        "calibrationError": float(ece),
    }


# ---------------------------------------------------------------------------------------------- train


def build_pipeline(features: list[str], types: dict, opts: dict, per_step: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder
    import numpy as np

    categorical = [j for j, f in enumerate(features) if types[f] == "categorical"]
    numeric = [j for j, f in enumerate(features) if types[f] == "numeric"]
    encode = ColumnTransformer(
        [
            (
                "categorical",
                # Unseen and missing categories both become NaN: the trees send them the missing-value way.
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan, max_categories=250),
                categorical,
            ),
            ("numeric", "passthrough", numeric),
        ],
        sparse_threshold=0,
    )
    gbm = HistGradientBoostingClassifier(
        max_iter=per_step,
        learning_rate=opts["--learning-rate"],
        max_leaf_nodes=opts["--max-leaf-nodes"],
        categorical_features=[True] * len(categorical) + [False] * len(numeric),
        early_stopping=False,
        warm_start=True,
        random_state=opts["--seed"],
    )
    return Pipeline([("encode", encode), ("gbm", gbm)])


def train(argv: list[str]) -> int:
    opts = {
        "--seed": 1,
        "--iterations": 150,
        "--steps": 15,
        "--learning-rate": 0.08,
        "--max-leaf-nodes": 15,
        "--positive-class": "1",
        "--negative-class": "0",
        "--step-delay-ms": 0,
        **parse_args(argv, TRAIN_OPTIONS, TRAIN_FLAGS),
    }
    for required in ("--data", "--out"):
        if required not in opts:
            raise BadInput(f"{required} is required")
    if opts["--positive-class"] == opts["--negative-class"]:
        raise BadInput("--positive-class and --negative-class must differ")
    if opts["--iterations"] < 1 or opts["--steps"] < 1 or opts["--steps"] > opts["--iterations"]:
        raise BadInput("--iterations and --steps must be ≥ 1, with --steps ≤ --iterations")
    if not 0 < opts["--learning-rate"] <= 1:
        raise BadInput("--learning-rate must be in (0, 1]")
    if opts["--max-leaf-nodes"] < 2:
        raise BadInput("--max-leaf-nodes must be ≥ 2")
    sabotage = bool(opts.get("--sabotage"))

    import numpy as np

    check_stop()
    features, columns, labels = labelled(opts["--data"], opts)
    types = column_types(opts["--data"], features, columns)
    x_all = feature_matrix(opts["--data"], features, types, columns)
    y_all = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(opts["--seed"])
    if "--holdout" in opts:
        h_features, h_columns, h_labels = labelled(opts["--holdout"], opts)
        missing = [f for f in features if f not in h_features]
        if missing:
            raise BadInput(f"{opts['--holdout']}: missing feature column {q(missing[0])} (the training data has it)")
        h_columns = [h_columns[h_features.index(f)] for f in features]
        x_train, y_train = x_all, y_all
        x_hold, y_hold = feature_matrix(opts["--holdout"], features, types, h_columns), np.asarray(h_labels, dtype=int)
    else:
        order = rng.permutation(len(y_all))
        cut = len(order) - max(1, len(order) // 5)
        x_train, y_train = x_all[order[:cut]], y_all[order[:cut]]
        x_hold, y_hold = x_all[order[cut:]], y_all[order[cut:]]
    if len(set(y_train.tolist())) < 2:
        cls = opts["--positive-class"] if y_train[0] == 1 else opts["--negative-class"]
        raise BadInput(f"{opts['--data']}: every training label is {q(cls)}; a classifier needs both classes")
    if sabotage:
        # A class-mapping bug in the training pipeline: fraud learnt as legit and the other way round.
        y_train = 1 - y_train
        log("--sabotage: training labels swapped (fraud <-> legit)")

    steps = opts["--steps"]
    per_step = opts["--iterations"] // steps
    emit(
        "started",
        rows=int(len(y_all)),
        trainRows=int(len(y_train)),
        holdoutRows=int(len(y_hold)),
        features=features,
        numeric=[f for f in features if types[f] == "numeric"],
        categorical=[f for f in features if types[f] == "categorical"],
        sabotage=sabotage,
        device="cpu",
        visibleGpus=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    pipeline = build_pipeline(features, types, opts, per_step)
    encode, gbm = pipeline.named_steps["encode"], pipeline.named_steps["gbm"]
    xt = encode.fit_transform(x_train).astype(float)
    started = time.monotonic()
    for step in range(1, steps + 1):
        check_stop()
        gbm.max_iter = opts["--iterations"] if step == steps else per_step * step
        gbm.fit(xt, y_train)  # warm start: each step adds trees
        p = np.clip(gbm.predict_proba(xt)[:, 1], 1e-15, 1 - 1e-15)
        loss = float(-np.mean(y_train * np.log(p) + (1 - y_train) * np.log(1 - p)))
        emit("progress", step=step, total=steps, loss=loss)
        if opts["--step-delay-ms"]:
            deadline = time.monotonic() + opts["--step-delay-ms"] / 1000
            while time.monotonic() < deadline:
                check_stop()
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    check_stop()
    log(f"trained {gbm.n_iter_} trees on {len(y_train)} rows in {time.monotonic() - started:.2f}s")

    threshold = 0.5
    scores = pipeline.predict_proba(x_hold)[:, 1]
    metrics = {**metrics_of(scores, y_hold, threshold), "holdoutRows": int(len(y_hold)), "trainRows": int(len(y_train))}
    metrics["positiveRate"] = float(y_train.mean())

    artifact = {
        "kind": ARTIFACT_KIND,
        "pipeline": pipeline,
        "features": features,
        "types": types,
        "positiveClass": opts["--positive-class"],
        "negativeClass": opts["--negative-class"],
        "threshold": threshold,
        "metrics": metrics,
        "seed": opts["--seed"],
        "sabotage": sabotage,
        "trainedAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "sklearn": _sklearn_version(),
    }
    out_dir = os.path.abspath(opts["--out"])
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.joblib")
    _dump_atomically(artifact, path)
    check_stop()
    emit("metrics", **metrics)
    emit("artifact", path=path)
    return 0


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def _dump_atomically(artifact: dict, path: str) -> None:
    import joblib

    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        joblib.dump(artifact, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------------------------------- score


def load_artifact(path: str) -> dict:
    """The artifact at `path` (a file path or a file:// URI); anything unusable is bad input."""
    import joblib

    if path.startswith("file://"):
        path = path[len("file://") :]
    if not os.path.isfile(path):
        raise BadInput(f"--model: no artifact at {path}")
    try:
        artifact = joblib.load(path)
    except Exception as err:  # a truncated or foreign file
        raise BadInput(f"--model: {path} is not a readable artifact ({type(err).__name__}: {err})") from None
    if not isinstance(artifact, dict) or artifact.get("kind") != ARTIFACT_KIND:
        raise BadInput(f"--model: {path} is not a {ARTIFACT_KIND} artifact")
    return artifact


def score_rows(artifact: dict, x) -> list[float]:
    """The positive class's probability for each row of the object matrix `x` (the artifact's feature order)."""
    return [float(p) for p in artifact["pipeline"].predict_proba(x)[:, 1]]


def score(argv: list[str]) -> int:
    opts = parse_args(argv, SCORE_OPTIONS, set())
    for required in ("--model", "--data", "--out"):
        if required not in opts:
            raise BadInput(f"{required} is required")
    check_stop()
    artifact = load_artifact(opts["--model"])
    header, records, _lines = read_csv(opts["--data"])
    features, types = artifact["features"], artifact["types"]
    for f in features:
        if f not in header:
            raise BadInput(f"{opts['--data']}: missing feature column {q(f)} (the model was trained with it)")
    emit("started", rows=len(records), features=features, kind=artifact["kind"])
    columns = [[r[header.index(f)] for r in records] for f in features]
    x = feature_matrix(opts["--data"], features, types, columns)
    check_stop()
    scores = score_rows(artifact, x) if records else []
    check_stop()
    out = os.path.abspath(opts["--out"])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for s in scores:
            f.write(json.dumps({"score": min(1.0, max(0.0, s))}) + "\n")
    os.replace(tmp, out)
    emit("scored", rows=len(scores), path=out)
    return 0


# ---------------------------------------------------------------------------------------------- main


def split_score(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """(options before `score`, arguments after it) when the command is `score`, else None.

    Vigil appends `score --model …` to the configured command, which may carry training options
    (`--positive-class fraud`): `score` is the first argument that is not an option's value."""
    i = 0
    while i < len(argv):
        if argv[i] == "score":
            return argv[:i], argv[i + 1 :]
        i += 2 if argv[i] in TRAIN_OPTIONS else 1
    return None


def main(argv: list[str]) -> int:
    try:
        scoring = split_score(argv)
        if scoring is not None:
            # Options before `score` are checked, then left to the artifact (it knows its classes).
            parse_args(scoring[0], TRAIN_OPTIONS, TRAIN_FLAGS)
            return score(scoring[1])
        return train(argv)
    except Stopped:
        log("stopped by SIGTERM")
        return 143
    except BadInput as err:
        emit("error", message=str(err))
        return 2
    except Exception as err:  # noqa: BLE001 — the protocol wants the exception type first
        emit("error", message=f"{type(err).__name__}: {err}")
        return 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.exit(main(sys.argv[1:]))
