/**
 * `npm run bench:drift`: Vigil's KS + PSI against scipy.stats.ks_2samp + a NumPy PSI on the same
 * data in the same run — 20 numeric features, 1,000,000 reference and 1,000,000 current rows from a
 * fixed seed. Checks that the statistics agree and prints both times and the ratio.
 * Needs python3 with numpy and scipy (`python3 -m pip install numpy scipy`).
 *
 *   npm run bench:drift [-- --rows 1000000 --features 20]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createRng } from '../examples/credit-risk/dataset.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, features: { type: 'string', default: '20' } } });
const rows = Number(values.rows);
const features = Number(values.features);
if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(features) && features > 0)) {
  console.error('bench:drift: --rows and --features must be positive integers');
  process.exit(2);
}

const python = spawnSync('python3', ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
if (python.status !== 0) {
  console.error('bench:drift needs python3 with numpy and scipy: python3 -m pip install numpy scipy');
  process.exit(1);
}

// Data: each feature a different distribution; half of them drift in the current sample.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-drift-'));
const rng = createRng(20261122);
const refs: Float64Array[] = [];
const curs: Float64Array[] = [];
for (let f = 0; f < features; f++) {
  const shift = f % 2 === 0 ? 0 : 0.05 * f;
  const scale = 1 + (f % 3) * 0.5;
  // Shared memory: the worker threads read the samples without copying them.
  const ref = new Float64Array(new SharedArrayBuffer(rows * 8));
  const cur = new Float64Array(new SharedArrayBuffer(rows * 8));
  for (let i = 0; i < rows; i++) ref[i] = Math.round(rng.normal() * scale * 1e4) / 1e4;
  for (let i = 0; i < rows; i++) cur[i] = Math.round((rng.normal() * scale + shift) * 1e4) / 1e4;
  fs.writeFileSync(path.join(dir, `ref-${f}.f64`), Buffer.from(ref.buffer));
  fs.writeFileSync(path.join(dir, `cur-${f}.f64`), Buffer.from(cur.buffer));
  refs.push(ref);
  curs.push(cur);
}

try {
  // Features are independent: one worker thread per core, each taking the next feature.
  const threads = Math.min(os.availableParallelism(), features);
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./driftWorker.mjs', import.meta.url)));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r)))); // loaded and warmed up
  const vigil: { ks: number; p: number; psi: number }[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const take = () => {
            if (next >= features) return resolve();
            const feature = next++;
            w.postMessage({ feature, ref: refs[feature], cur: curs[feature] });
          };
          w.on('message', (m: { feature: number; ks: number; p: number; psi: number }) => {
            vigil[m.feature] = m;
            take();
          });
          w.once('error', reject);
          take();
        }),
    ),
  );
  const vigilSeconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));

  const script = fileURLToPath(new URL('./drift_scipy.py', import.meta.url));
  const scipy = JSON.parse(execFileSync('python3', [script, dir, String(features)], { encoding: 'utf8', maxBuffer: 1 << 24 }));

  let worst = { ks: 0, p: 0, psi: 0 };
  vigil.forEach((v, f) => {
    const s = scipy.results[f];
    worst = { ks: Math.max(worst.ks, Math.abs(v.ks - s.ks)), p: Math.max(worst.p, Math.abs(v.p - s.p)), psi: Math.max(worst.psi, Math.abs(v.psi - s.psi)) };
  });
  const agree = worst.ks <= 1e-12 && worst.p <= 1e-6 && worst.psi <= 1e-9;

  console.log(`\n## Drift statistics benchmark\n`);
  console.log(`- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}; numpy ${scipy.numpy}, scipy ${scipy.scipy}`);
  console.log(`- data: ${features} numeric features × ${rows.toLocaleString('en')} reference × ${rows.toLocaleString('en')} current rows (seed 20261122)\n`);
  console.log('| implementation | KS + PSI, all features | per feature |');
  console.log('|---|---:|---:|');
  console.log(`| Vigil (TypeScript, ${threads} worker threads) | ${vigilSeconds.toFixed(2)} s | ${((vigilSeconds / features) * 1000).toFixed(0)} ms |`);
  console.log(`| scipy.stats.ks_2samp + NumPy PSI | ${scipy.seconds.toFixed(2)} s | ${((scipy.seconds / features) * 1000).toFixed(0)} ms |`);
  console.log(`\nspeed-up (SciPy time / Vigil time): ${(scipy.seconds / vigilSeconds).toFixed(2)}×`);
  console.log(
    `agreement: max |ΔKS| ${worst.ks.toExponential(1)}, max |Δp| ${worst.p.toExponential(1)}, max |ΔPSI| ${worst.psi.toExponential(1)} → ${agree ? 'same statistics' : 'MISMATCH'}`,
  );
  process.exitCode = agree ? 0 : 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
