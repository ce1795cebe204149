#!/usr/bin/env python3
"""Synthetic card transactions for the fraud example, with a fraud label from a known rule plus noise.

Each transaction has five numeric features (amount, hour, account_age_days, txn_count_24h,
distance_km) and three categorical ones (merchant_category, country, channel). The label is
"fraud" with probability sigmoid(rule), drawn with the seeded generator, else "legit".

`drift` (0..1) moves the world: amounts rise (a numeric shift), online transactions and a few
countries take a larger share (a categorical shift), and the fraud relationship changes — fraudsters
move from big electronics/jewelry purchases to small "card testing" payments at grocery and fuel
merchants, which a model trained at drift 0 scores as safe (concept drift).

    python3 dataset.py --rows 4000 --seed 7 --drift 0 --out train.csv

writes a CSV (header of features + `label`) in the trainer protocol v2 dialect.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys

import numpy as np

NUMERIC = ["amount", "hour", "account_age_days", "txn_count_24h", "distance_km"]
CATEGORICAL = ["merchant_category", "country", "channel"]
FEATURES = ["amount", "merchant_category", "country", "channel", "hour", "account_age_days", "txn_count_24h", "distance_km"]

MERCHANTS = ["grocery", "fuel", "restaurants", "online_retail", "travel", "electronics", "jewelry", "gaming"]
MERCHANT_SHARES = [0.24, 0.14, 0.18, 0.16, 0.08, 0.09, 0.04, 0.07]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "BR", "NG", "RO"]
COUNTRY_SHARES = [0.45, 0.15, 0.12, 0.1, 0.06, 0.05, 0.04, 0.03]
COUNTRY_SHARES_DRIFTED = [0.3, 0.1, 0.08, 0.07, 0.05, 0.15, 0.12, 0.13]
CHANNELS = ["chip", "contactless", "online"]
CHANNEL_SHARES = [0.35, 0.35, 0.3]
CHANNEL_SHARES_DRIFTED = [0.2, 0.25, 0.55]
POSITIVE, NEGATIVE = "fraud", "legit"

RISKY_MERCHANTS = {"electronics", "jewelry", "gaming"}
TESTING_MERCHANTS = {"grocery", "fuel"}
RISKY_COUNTRIES = {"BR", "NG", "RO"}


def _mix(a: list[float], b: list[float], t: float) -> np.ndarray:
    p = np.array(a) * (1 - t) + np.array(b) * t
    return p / p.sum()


def fraud_logit(row: dict, drift: float) -> float:
    """The known rule: the log-odds of fraud for one transaction in a world at `drift`."""
    amount = max(float(row["amount"]), 0.01)
    merchant = row["merchant_category"]
    logit = -2.7
    # Healthy world: big purchases of resellable goods, abroad, at night, on new accounts, in bursts.
    logit += (1 - drift) * (1.3 * math.log(amount / 60.0) + 2.2 * (merchant in RISKY_MERCHANTS))
    logit += 1.6 * (row["country"] in RISKY_COUNTRIES)
    logit += 1.4 * (row["hour"] <= 5)
    logit -= 1.0 * math.log1p(row["account_age_days"] / 30.0) - 1.5
    logit += 0.4 * row["txn_count_24h"]
    logit += 0.9 * (row["channel"] == "online")
    logit += 0.003 * row["distance_km"]
    # Drifted world: card testing — many small payments at grocery and fuel merchants.
    logit += drift * (4.5 * (merchant in TESTING_MERCHANTS) * (amount < 25) + 1.5 * (amount < 10) - 0.8)
    return logit


def generate(n: int, seed: int, drift: float = 0.0) -> list[dict]:
    """`n` labelled transactions (features and `label`), deterministic for a seed and drift."""
    if not 0 <= drift <= 1:
        raise ValueError(f"drift must be in [0, 1], got {drift}")
    rng = np.random.default_rng(seed)
    merchants = rng.choice(MERCHANTS, size=n, p=MERCHANT_SHARES)
    countries = rng.choice(COUNTRIES, size=n, p=_mix(COUNTRY_SHARES, COUNTRY_SHARES_DRIFTED, drift))
    channels = rng.choice(CHANNELS, size=n, p=_mix(CHANNEL_SHARES, CHANNEL_SHARES_DRIFTED, drift))
    # Amounts: log-normal around $45, moving up by ~2.2x at full drift (inflation, a new product line).
    amounts = np.exp(rng.normal(math.log(45) + 0.8 * drift, 1.0, size=n))
    hours = rng.choice(24, size=n, p=_hour_shares())
    ages = rng.gamma(1.4, 420.0, size=n)
    counts = rng.poisson(1.6 + 1.5 * drift, size=n)
    distances = np.abs(rng.normal(0, 60, size=n)) + rng.exponential(15, size=n) * (channels != "online")
    noise = rng.random(size=n)
    rows = []
    for i in range(n):
        row = {
            "amount": round(float(amounts[i]), 2),
            "merchant_category": str(merchants[i]),
            "country": str(countries[i]),
            "channel": str(channels[i]),
            "hour": int(hours[i]),
            "account_age_days": int(ages[i]),
            "txn_count_24h": int(counts[i]),
            "distance_km": round(float(distances[i]), 1),
        }
        p = 1 / (1 + math.exp(-fraud_logit(row, drift)))
        row["label"] = POSITIVE if noise[i] < p else NEGATIVE
        rows.append(row)
    return rows


def _hour_shares() -> np.ndarray:
    w = np.array([0.6 if h <= 5 else 1.6 if 9 <= h <= 21 else 1.0 for h in range(24)])
    return w / w.sum()


def write_csv(path: str, rows: list[dict], label: bool = True) -> None:
    """Writes rows atomically: the features (and `label`) as the protocol v2 dialect has them."""
    header = FEATURES + (["label"] if label else [])
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row[h] for h in header])
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="synthetic card transactions with a fraud label")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drift", type=float, default=0.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-label", action="store_true", help="features only (rows to score)")
    args = parser.parse_args(argv)
    rows = generate(args.rows, args.seed, args.drift)
    write_csv(args.out, rows, label=not args.no_label)
    positives = sum(r["label"] == POSITIVE for r in rows)
    print(f"{args.out}: {len(rows)} rows, fraud rate {positives / max(len(rows), 1):.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
