/**
 * Runbooks are code: per failure mode, which evidence to gather, which actions to consider (in order),
 * how approval works and what happens when nobody answers. The lifecycle workflow reads this policy;
 * it holds no failure-mode `if` chains of its own. The policy is snapshotted into each incident's
 * input, so changing a runbook never changes an incident already under way.
 */
import ms from 'ms';
import { z } from 'zod';
import { FAILURE_MODES, FailureMode, RemediationAction, Severity } from './incident.js';

/** A duration such as `30s`, `15m`, `2h` (the notation Temporal's SDK accepts). */
export const Duration = z.string().refine((v) => {
  if (v === '') return false; // ms('') throws instead of returning undefined
  if (!/[a-z]\s*$/i.test(v)) return false; // a bare number would silently mean milliseconds
  const parsed = ms(v as ms.StringValue);
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0;
}, 'must be a duration such as "30s", "15m" or "2h"');

/**
 * A duration that paces a loop or bounds a wait: at least one second. "0s" as a canary's `checkEvery`
 * would judge in a tight loop; as a validation window or approval timeout it would decide on nothing.
 */
export const PositiveDuration = Duration.refine((v) => {
  // Only judged once Duration accepts it: a malformed value gets Duration's message alone.
  const n = v && /[a-z]\s*$/i.test(v) ? ms(v as ms.StringValue) : NaN;
  return !(typeof n === 'number' && Number.isFinite(n)) || n >= 1000;
}, 'must be at least 1s');

export function durationMs(d: string): number {
  return ms(d as ms.StringValue);
}

export const EvidenceKind = z.enum(['drift_report', 'performance', 'recent_deployments', 'data_quality_report', 'label_quality', 'health_metrics']);
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/** Actions Vigil may take when nobody approves in time: none of them changes the model. */
export const SAFE_ACTIONS = ['fallback', 'monitor', 'escalate_upstream'] as const;

/**
 * A slice of the population whose outcomes must not get worse under a new model (e.g. young
 * applicants): rows whose `feature` lies in [min, max], or equals `equals`.
 */
export const ProtectedSlice = z
  .strictObject({
    name: z.string().min(1),
    feature: z.string().min(1),
    min: z.number().optional(),
    max: z.number().optional(),
    equals: z.union([z.number(), z.string()]).optional(),
    /** Fewer holdout rows than this in the slice: the gate reports it and does not judge. */
    minRows: z.number().int().min(1).default(30),
  })
  .refine((s) => s.min !== undefined || s.max !== undefined || s.equals !== undefined, {
    message: 'a protected slice needs min, max or equals',
  })
  .refine((s) => s.min === undefined || s.max === undefined || s.min <= s.max, { message: 'min must not exceed max', path: ['min'] });
export type ProtectedSlice = z.output<typeof ProtectedSlice>;

/**
 * After the gates, the candidate serves a share of live traffic for a window before it is promoted.
 * Live labels often arrive later than a canary window lasts, so accuracy is judged only when enough
 * canary predictions are labelled; health checks (Prometheus) are judged throughout.
 */
export const CanaryPolicy = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * 'split': the candidate answers `percent` of the requests. 'shadow': the stable model answers
   * everything and the candidate scores a copy of `percent` of the requests, judged on the same
   * requests and labels (no user ever gets its answer; targets without shadow support refuse it).
   */
  mode: z.enum(['split', 'shadow']).default('split'),
  /** Share of traffic the candidate answers (split) or sees a copy of (shadow), in percent. */
  percent: z.number().int().min(1).max(100).default(10),
  window: PositiveDuration.default('10m'),
  /** How often the canary is judged during the window; a clear failure rolls back at once. */
  checkEvery: PositiveDuration.default('1m'),
  /** Labelled canary predictions needed before accuracy is judged. */
  minLabelled: z.number().int().min(1).default(100),
  /** Roll back when the canary's live accuracy is below the stable model's by more than this (one-sided test, 95%). */
  maxAccuracyDrop: z.number().min(0).max(1).default(0.02),
  /** At the window's end with too few labels to judge accuracy (health was fine): promote, or roll back. */
  onInsufficientLabels: z.enum(['promote', 'rollback']).default('promote'),
  /**
   * At the window's end with health unverified — more than `maxUnknownHealthShare` of the model's health
   * checks errored, timed out or had no data (Prometheus down, a query matching nothing): roll back
   * (default: never promoted blind), or promote on the rest of the evidence. Models without health checks
   * have nothing to verify and are not affected.
   */
  onUnknownHealth: z.enum(['rollback', 'promote']).default('rollback'),
  /** Share of the health checks that may go unevaluated at the window's end with health still counted as verified; 0: every check must answer. */
  maxUnknownHealthShare: z.number().min(0).lt(1, 'must be below 1 (to promote without health, set onUnknownHealth: promote)').default(0),
});
export type CanaryPolicy = z.output<typeof CanaryPolicy>;

// Objects with a default for every field take `.prefault({})`: `{}` runs through the inner defaults, so
// each default is written once, next to its field.
export const RunbookPolicy = z
  .strictObject({
    version: z.string().min(1),
    evidence: z.array(EvidenceKind).min(1),
    /** Candidate actions in order of preference; triage recommends the first whose preconditions hold. */
    actions: z.array(RemediationAction).min(1),
    approval: z.strictObject({
      timeout: PositiveDuration,
      /** After the escalation on timeout, how long to wait before applying the safe default. */
      escalationTimeout: Duration.default('0s'),
      /** Distinct approvers needed per severity; SEV1 defaults to two, a severity not listed needs one. */
      quorum: z.partialRecord(Severity, z.number().int().min(1).max(5)).default({ SEV1: 2 }),
      /** Remind the approvers (Slack thread, log) this often while nobody has decided; absent: no reminders. */
      remindEvery: PositiveDuration.optional(),
    }),
    safeDefault: RemediationAction,
    /** Actions the safe default may take without a human. Only SAFE_ACTIONS unless listed here. */
    allowUnattended: z.array(RemediationAction).default([]),
    retrain: z
      .strictObject({
        minLabelledRows: z.number().int().min(1).default(200),
        /**
         * Before training, wait (durably) until this many labelled predictions have arrived since the
         * incident opened — so a retrain approved at the onset of a drift learns the new regime from
         * enough of it — for at most `atMost`; then train on what there is. 0 (default): do not wait.
         */
        waitForFreshRows: z
          .strictObject({
            rows: z.number().int().min(0).default(0),
            atMost: Duration.default('10m'),
            checkEvery: PositiveDuration.default('15s'),
          })
          .prefault({}),
        /** Gate: the candidate's holdout AUC may not be below the champion's by more than this. */
        maxAucDrop: z.number().min(0).max(1).default(0),
        /** Gate: the candidate's holdout calibration error may not exceed the champion's by more than this. */
        maxCalibrationIncrease: z.number().min(0).max(1).default(0.02),
        /** The calibration gate judges only holdouts of at least this many rows (binned calibration error is noise on fewer). */
        minCalibrationRows: z.number().int().min(0).default(100),
        /** Gate: on each protected slice of the holdout, the candidate's accuracy may not fall below the champion's by more than this. */
        maxSliceDrop: z.number().min(0).max(1).default(0.05),
        /** Gate (models scored by their trainer, protocol v2): the candidate's holdout accuracy (binary, multiclass) may not be lower by more than this. */
        maxAccuracyDrop: z.number().min(0).max(1).default(0.02),
        /** Gate (multiclass): the candidate's holdout macro-F1 may not be lower by more than this. */
        maxMacroF1Drop: z.number().min(0).max(1).default(0.02),
        /** Gate (regression): the candidate's holdout MAE may not exceed the champion's by more than this share (0.05 = 5%). */
        maxMaeIncrease: z.number().min(0).default(0.05),
        /** Gate (regression): the same for RMSE. */
        maxRmseIncrease: z.number().min(0).default(0.05),
        protectedSlices: z.array(ProtectedSlice).default([]),
        /** Start-to-close limit of each short retrain step (snapshot, evaluate, register, promote): a step on a crashed worker is retried after this. */
        stepTimeout: PositiveDuration.default('2m'),
        canary: CanaryPolicy.prefault({}),
      })
      .prefault({}),
    rollback: z
      .strictObject({
        /** A champion change within this window counts as a correlated recent deploy. */
        recentDeployWindow: Duration.default('24h'),
        /**
         * Rollback is recommended only when the target, scored on the recent labelled predictions,
         * beats the champion by this much: accuracy points (binary, multiclass), or a relative MAE cut
         * (regression: 0.02 = 2% lower).
         */
        minImprovement: z.number().min(0).max(1).default(0.02),
      })
      .prefault({}),
    /** Graceful degradation: serve the rules-based fallback while a human decides. */
    degrade: z
      .strictObject({
        whileAwaitingApproval: z.boolean().default(false),
      })
      .prefault({}),
    validation: z
      .strictObject({
        window: PositiveDuration.default('2m'),
        /** Extra windows to wait when there is too little traffic to judge. */
        maxExtraWindows: z.number().int().min(0).default(2),
        minSamples: z.number().int().min(1).default(100),
        compensateOnFailure: z.boolean().default(true),
      })
      .prefault({}),
  })
  .superRefine((p, ctx) => {
    const canary = p.retrain.canary;
    if (durationMs(canary.checkEvery) > durationMs(canary.window)) {
      ctx.addIssue({
        code: 'custom',
        path: ['retrain', 'canary', 'checkEvery'],
        message: `"${canary.checkEvery}" is longer than the canary's window "${canary.window}"`,
      });
    }
    const safe = (SAFE_ACTIONS as readonly string[]).includes(p.safeDefault);
    if (!safe && !p.allowUnattended.includes(p.safeDefault)) {
      ctx.addIssue({
        code: 'custom',
        path: ['safeDefault'],
        message: `"${p.safeDefault}" changes the model without a human; list it in allowUnattended to permit that`,
      });
    }
  });
export type RunbookPolicy = z.output<typeof RunbookPolicy>;
export type RunbookPolicyInput = z.input<typeof RunbookPolicy>;

export const Runbooks = z.strictObject(Object.fromEntries(FAILURE_MODES.map((m) => [m, RunbookPolicy])) as Record<FailureMode, typeof RunbookPolicy>);
export type Runbooks = Record<FailureMode, RunbookPolicy>;
