/**
 * The configuration used when no config file is given (cli/loadConfig.ts): the example credit-risk model,
 * with its declared inputs and a short canary.
 */
import type { z } from 'zod';
import { LOCAL_USER_PLACEHOLDER, type VigilConfig } from '../../domain/config.js';
import { CREDIT_RISK_INPUT_SCHEMA } from './inputSchema.js';

/** The example's traffic (40 req/s, labels after 2 s) judges a canary in seconds: a short one keeps the walkthrough brisk. */
export const EXAMPLE_CANARY = { percent: 20, window: '2m', checkEvery: '20s' };

/**
 * An incident the monitor opens at the onset of the drift may be approved at once: the retrain first
 * waits for 1,000 labelled predictions from after it opened (25 s of the example's traffic) so the
 * candidate learns the new regime from enough of it.
 */
export const EXAMPLE_RETRAIN = { canary: EXAMPLE_CANARY, waitForFreshRows: { rows: 1000, atMost: '3m' } };

/** The configuration used when no file is given: the example credit-risk model. */
export const EXAMPLE_CONFIG = {
  models: [
    {
      id: 'credit-risk',
      displayName: 'Credit risk scorer (example)',
      tier: 'high',
      approvers: [LOCAL_USER_PLACEHOLDER, 'ml-oncall'],
      escalation: ['ml-platform-leads'],
      example: true,
      inputSchema: CREDIT_RISK_INPUT_SCHEMA,
      runbooks: { data_drift: { retrain: EXAMPLE_RETRAIN }, concept_drift: { retrain: EXAMPLE_RETRAIN } },
    },
  ],
} satisfies z.input<typeof VigilConfig>;
