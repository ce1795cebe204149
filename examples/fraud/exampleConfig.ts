/**
 * The fraud example (`vigil up --example fraud`): a team's model that Vigil did not build, plugged in
 * through configuration only — a binary task with text classes, declared numeric and categorical inputs,
 * and a Python trainer (scikit-learn) that speaks trainer protocol v2. Its server and traffic are
 * separate processes that reach Vigil over the public HTTP APIs (examples/fraud/server.py, driver.py).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { LOCAL_USER_PLACEHOLDER, type VigilConfig } from '../../domain/config.js';
import type { InputSchema } from '../../domain/dataQuality.js';

export const FRAUD_MODEL_ID = 'fraud';
export const FRAUD_DIR = path.dirname(fileURLToPath(import.meta.url));
export const FRAUD_SCRIPTS = {
  dataset: path.join(FRAUD_DIR, 'dataset.py'),
  trainer: path.join(FRAUD_DIR, 'trainer.py'),
  server: path.join(FRAUD_DIR, 'server.py'),
  driver: path.join(FRAUD_DIR, 'driver.py'),
} as const;

/** The model's task: what the trainer's --positive-class / --negative-class and the labels name. */
export const FRAUD_TASK = { type: 'binary', threshold: 0.5, positiveClass: 'fraud', negativeClass: 'legit' } as const;

/** What the payment service promises to send (examples/fraud/dataset.py generates exactly this). */
export const FRAUD_INPUT_SCHEMA: z.input<typeof InputSchema> = {
  columns: {
    amount: { type: 'numeric', min: 0 },
    merchant_category: {
      type: 'categorical',
      categories: ['grocery', 'fuel', 'restaurants', 'online_retail', 'travel', 'electronics', 'jewelry', 'gaming'],
    },
    country: { type: 'categorical', categories: ['US', 'GB', 'DE', 'FR', 'NL', 'BR', 'NG', 'RO'] },
    channel: { type: 'categorical', categories: ['chip', 'contactless', 'online'] },
    hour: { type: 'numeric', min: 0, max: 23 },
    account_age_days: { type: 'numeric', min: 0 },
    txn_count_24h: { type: 'numeric', min: 0 },
    distance_km: { type: 'numeric', min: 0 },
  },
  allowExtraColumns: false,
};

/** The trainer command Vigil runs (it appends --data, --holdout and --out; `score …` for scoring). */
export function fraudTrainerCommand(python: string): string[] {
  return [python, FRAUD_SCRIPTS.trainer, '--positive-class', FRAUD_TASK.positiveClass, '--negative-class', FRAUD_TASK.negativeClass];
}

/** The traffic (20 req/s, labels after 2 s) judges a canary within a short window, as in the credit-risk example. */
const CANARY = { percent: 20, window: '2m', checkEvery: '20s' };

/** The configuration `vigil up --example fraud` runs when no config file is given. */
export function fraudExampleConfig(python: string) {
  return {
    models: [
      {
        id: FRAUD_MODEL_ID,
        displayName: 'Card fraud classifier (example, scikit-learn)',
        tier: 'high',
        approvers: [LOCAL_USER_PLACEHOLDER, 'fraud-oncall'],
        escalation: ['ml-platform-leads'],
        task: FRAUD_TASK,
        inputSchema: FRAUD_INPUT_SCHEMA,
        training: { command: fraudTrainerCommand(python), protocol: 2, timeout: '10m' },
        // As in the credit-risk example: a retrain approved at the drift's onset waits for 600 labelled rows from after it (30 s of traffic).
        runbooks: {
          data_drift: { retrain: { canary: CANARY, waitForFreshRows: { rows: 600, atMost: '3m' } } },
          concept_drift: { retrain: { canary: CANARY, waitForFreshRows: { rows: 600, atMost: '3m' } } },
        },
      },
    ],
  } satisfies z.input<typeof VigilConfig>;
}
