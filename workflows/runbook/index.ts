/**
 * The step library a runbook imports (`import { defineRunbook, z } from '@vigil/runbook'`): see the
 * README's "Write a runbook".
 */
export { defineRunbook, type Runbook, type RunbookDefinition } from './defineRunbook.js';
export type { IncidentSteps, WaitOptions, WebhookOptions } from './runbookIncident.js';
export { patched, deprecatePatch } from './versioning.js';
export { z } from 'zod';
