/** Errors a person caused (bad argument, unknown model or incident, refused decision): exit code 2. */
export class UserInputError extends Error {
  readonly exitCode = 2;
}

export class NotFoundError extends UserInputError {}

/** A decision the incident's validator refused; recorded in the audit log. */
export class DecisionRefusedError extends UserInputError {}
