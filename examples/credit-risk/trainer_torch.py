#!/usr/bin/env python3
"""The credit-risk trainer written with PyTorch, to Vigil's trainer protocol v2
(docs/trainer-protocol.md): the same arguments, JSON lines, exit codes and `logistic-regression/v1`
artifact as trainer.py and trainer.ts, trained on the GPU when there is one. `score` is trainer.py's
(NumPy, on the CPU): `base.run` handles it before training is considered.

    python examples/credit-risk/trainer_torch.py --data train.csv --holdout holdout.csv --out ./artifacts/job-1

It plugs into Vigil unchanged, through the model's training command:

    "training": {
      "command": ["python3", "/abs/path/examples/credit-risk/trainer_torch.py"],
      "gpus": "0"
    }

Device: CUDA when `torch.cuda.is_available()`, else the CPU. Vigil passes `training.gpus` as
CUDA_VISIBLE_DEVICES, which the CUDA runtime honours: with "1" the job sees one GPU (as cuda:0), with ""
it sees none and trains on the CPU. The `started` line reports the device and the visible GPUs.
On CUDA it computes in float32 (as GPU training does), on the CPU in float64.

Failures keep the protocol: out of GPU memory ends as exit 1 with an error line
"OutOfMemoryError: CUDA out of memory…", which Vigil classifies as `out_of_memory` (not retried);
a missing PyTorch is exit 1 with "ModuleNotFoundError: No module named 'torch'".

Needs PyTorch (not part of Vigil's test tools): `pip install torch numpy`. The CSV reading, split,
shuffling, reference profile, metrics and artifact writing are trainer.py's (imported from beside this
file), so the two Python trainers cannot drift apart.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import trainer as base  # noqa: E402  (trainer.py beside this file)


def pick_device(torch):
    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        return torch.device("cuda", index), f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return torch.device("cpu"), "cpu"


def train(args: dict, proto: base.Protocol, stopped) -> int:
    # Bad input is reported before PyTorch is needed; a missing PyTorch is then an error line like any
    # other failure.
    features, Xt, yt, Xh, yh = base.load_inputs(args)
    import torch
    import torch.nn.functional as F

    n, k = Xt.shape
    device, device_name = pick_device(torch)
    dtype = torch.float32 if device.type == "cuda" else torch.float64
    torch.manual_seed(args["seed"])
    proto.emit(
        "started",
        rows=n if args["holdout"] else n + len(yh),
        trainRows=n,
        holdoutRows=len(yh),
        features=features,
        sabotage=args["sabotage"],
        device=device_name,
        visibleGpus=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    proto.log(
        f"training on {args['data']} ({n} rows, {k} features{', SABOTAGED labels' if args['sabotage'] else ''}) "
        f"on {device_name}, {args['epochs']} epochs, seed {args['seed']} (PyTorch {torch.__version__})"
    )
    started = time.monotonic()

    stats = [base.mean_std(Xt[:, j]) for j in range(k)]
    mean = np.array([m for m, _ in stats])
    std = np.array([s if s > 1e-12 else 1.0 for _, s in stats])
    Z = torch.tensor((Xt - mean) / std, dtype=dtype, device=device)
    Y = torch.tensor(yt, dtype=dtype, device=device)
    w = torch.zeros(k, dtype=dtype, device=device, requires_grad=True)
    b = torch.zeros((), dtype=dtype, device=device, requires_grad=True)
    # Plain SGD on mean log-loss + (l2 / 2)·‖w‖²: the same update as trainer.py's.
    optimiser = torch.optim.SGD([w, b], lr=args["learning_rate"])
    l2, batch = args["l2"], base.DEFAULTS["batch_size"]
    rng = base.Mulberry32(args["seed"])
    order = list(range(n))
    for epoch in range(1, args["epochs"] + 1):
        rng.shuffle_in_place(order)
        idx = torch.tensor(order, dtype=torch.long, device=device)
        for start in range(0, n, batch):
            rows = idx[start : start + batch]
            loss = F.binary_cross_entropy_with_logits(Z[rows] @ w + b, Y[rows]) + 0.5 * l2 * (w * w).sum()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            epoch_loss = float(F.binary_cross_entropy_with_logits(Z @ w + b, Y))
        proto.emit("progress", step=epoch, total=args["epochs"], loss=epoch_loss)
        if base.pause(args["step_delay_ms"], stopped):
            proto.log("stopped before finishing; no artifact written")
            return base.EXIT_SIGTERM

    weights = w.detach().to("cpu", torch.float64).numpy()
    artifact = {
        "kind": "logistic-regression/v1",
        "features": features,
        "weights": [float(v) for v in weights],
        "bias": float(b.detach().cpu()),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "threshold": 0.5,
        "reference": base.reference_profile(Xt, features),
        "metrics": {},
        "trainedAt": base.utc_now_iso(),
        "seed": args["seed"],
    }
    # Holdout metrics in float64 on the CPU, with Vigil's definitions, whatever the training device.
    ev = base.evaluate_scores(base.score(artifact, Xh), yh, artifact["threshold"])
    if not all(np.isfinite(v) for v in ev.values()):
        raise RuntimeError(f"training diverged: holdout metrics {ev}")
    artifact["metrics"] = {**ev, "trainRows": int(n), "holdoutRows": int(len(yh))}
    proto.emit("metrics", **ev, holdoutRows=int(len(yh)), trainRows=int(n))
    file = base.write_artifact(args["out"], artifact)
    proto.log(f"trained in {int((time.monotonic() - started) * 1000)} ms on {device_name}: holdout AUC {ev['auc']:.4f}; wrote {file}")
    proto.emit("artifact", path=file)
    return 0


def main() -> None:
    stopped = base.install_sigterm()
    # trainer.py's run parses the arguments and maps errors to the protocol; the model is this file's.
    code = base.run(sys.argv[1:], dict(os.environ), stopped=stopped, train_fn=train)
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
