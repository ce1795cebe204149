/** Worker thread for `bench:drift`: computes numericDrift for the features it is sent. */
import { parentPort } from 'node:worker_threads';
import { numericDrift } from '../domain/drift/numericDrift.js';

// Warm the JIT on a small problem so the timed run measures steady-state code, as SciPy's is compiled.
const rnd = Float64Array.from({ length: 200_000 }, (_, i) => Math.sin(i) * 1e3);
numericDrift(rnd, rnd.slice().reverse());
parentPort!.postMessage({ ready: true });

parentPort!.on('message', (job: { feature: number; ref: Float64Array; cur: Float64Array }) => {
  const d = numericDrift(job.ref, job.cur);
  parentPort!.postMessage({ feature: job.feature, ks: d.ks.statistic, p: d.ks.pValue, psi: d.psi });
});
