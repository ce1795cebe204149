/**
 * The step library a runbook imports (`import { defineRunbook, z } from '@vigil/runbook'`): see the
 * README's "Write a runbook".
 */
export { defineRunbook, type Runbook, type RunbookDefinition } from './defineRunbook.js';
export { RunbookIncident, type WaitOptions, type WebhookOptions } from './runbookIncident.js';
export { z } from 'zod';
// Versioning a change to a runbook that running incidents use (README, "Write a runbook").
export { deprecatePatch, patched } from '@temporalio/workflow';
