"""SciPy / NumPy side of `npm run bench:drift`: KS (scipy.stats.ks_2samp, method='auto') and PSI
(bins at the reference's deciles, open ends, shares floored at 0.0001) per feature, timed.
Reads raw little-endian float64 files written by bench/drift.ts; prints one JSON object."""
import json
import sys
import time

import numpy as np
from scipy.stats import ks_2samp


def psi(ref, cur):
    edges = np.quantile(ref, np.linspace(0.1, 0.9, 9))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10) / len(cur)
    r = np.maximum(r, 0.0001)
    c = np.maximum(c, 0.0001)
    return float(np.sum((c - r) * np.log(c / r)))


def main():
    folder, features = sys.argv[1], int(sys.argv[2])
    data = [(np.fromfile(f"{folder}/ref-{i}.f64", dtype="<f8"), np.fromfile(f"{folder}/cur-{i}.f64", dtype="<f8")) for i in range(features)]
    results = []
    start = time.perf_counter()
    for ref, cur in data:
        ks = ks_2samp(ref, cur)
        results.append({"ks": float(ks.statistic), "p": float(ks.pvalue), "psi": psi(ref, cur)})
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "results": results, "numpy": np.__version__, "scipy": __import__("scipy").__version__}))


main()
