/**
 * A runbook: a name, the parameters a model's config may give it (a zod schema, checked when Vigil
 * starts), and the process itself — workflow code that drives an incident through Vigil's steps.
 */
import type { z } from 'zod';
import type { IncidentSteps } from './runbookIncident.js';

export const RUNBOOK_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface RunbookDefinition<P extends z.ZodType = z.ZodType> {
  /** How a model's config chooses it: `models[].runbooks.<mode>.use`. Lowercase letters, digits, . _ - */
  name: string;
  description?: string;
  /** The parameters' schema; config's `params` are parsed by it at start (defaults applied). */
  params: P;
  /** The process. Workflow code: deterministic, no I/O — every effect goes through a step of `incident`. */
  run(incident: IncidentSteps, params: z.output<P>): Promise<void>;
}

export interface Runbook<P extends z.ZodType = z.ZodType> extends RunbookDefinition<P> {
  readonly kind: 'vigil.runbook';
}

export function defineRunbook<P extends z.ZodType>(definition: RunbookDefinition<P>): Runbook<P> {
  if (!RUNBOOK_NAME.test(definition.name)) {
    throw new TypeError(`runbook name "${definition.name}" must be lowercase letters, digits, . _ - (at most 63, starting with a letter or digit)`);
  }
  return Object.freeze({ ...definition, kind: 'vigil.runbook' as const });
}

/** Whether a module's export is a runbook made by defineRunbook. */
export function isRunbook(value: unknown): value is Runbook {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'vigil.runbook';
}
