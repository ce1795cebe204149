/** Errors a person caused (bad argument, unknown model or incident, refused decision): exit code 2. */
export class UserInputError extends Error {
  readonly exitCode = 2;
}

export class NotFoundError extends UserInputError {}

/**
 * Why the decide Update's validator refused a decision: the failure type it throws, so that callers
 * (the decision API's status codes) need not read its message.
 */
export const DECISION_REFUSAL = {
  /** Not awaiting approval, already decided, or closed. */
  noPendingApproval: 'NoPendingApproval',
  notAnApprover: 'NotAnApprover',
  /** This person has voted already, under this name or another. */
  alreadyVoted: 'AlreadyVoted',
  /** The request itself: verdict, reason, sizes. */
  invalidDecision: 'InvalidDecision',
} as const;
export type DecisionRefusal = (typeof DECISION_REFUSAL)[keyof typeof DECISION_REFUSAL];

/** A decision the incident's validator refused; recorded in the audit log. */
export class DecisionRefusedError extends UserInputError {
  constructor(
    message: string,
    /** Why, when the validator said (incidents from before typed refusals, or a closed incident: noPendingApproval). */
    readonly refusal: DecisionRefusal = DECISION_REFUSAL.invalidDecision,
  ) {
    super(message);
  }
}

/**
 * A model an incident or job names is not in this worker's config (removed, or a worker deployed
 * without it). Activities retry it a few times (a rolling deploy) and then give up for good, so the
 * incident escalates and closes instead of retrying forever.
 */
export class ModelNotConfiguredError extends Error {
  constructor(readonly modelId: string) {
    super(`model "${modelId}" is not configured on this worker`);
    this.name = 'ModelNotConfiguredError';
  }
}

/**
 * The root cause's message: child-workflow, activity and workflow failures wrap the one that says what
 * went wrong ("activity task failed" → the activity's own error).
 */
export function failureMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
