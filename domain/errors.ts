/** Errors a person caused (bad argument, unknown model or incident, refused decision): exit code 2. */
export class UserInputError extends Error {
  readonly exitCode = 2;
}

export class NotFoundError extends UserInputError {}

/** A decision the incident's validator refused; recorded in the audit log. */
export class DecisionRefusedError extends UserInputError {}

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
