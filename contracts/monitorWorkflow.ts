/** The monitor workflow's contract (v1): one run for one model (workflows/monitorModel.ts). */
import type { SignalKind } from '../domain/incident.js';

export const MONITOR_WORKFLOW = 'monitorModel';

export interface MonitorModelInput {
  modelId: string;
}

export interface MonitorOutcome {
  modelId: string;
  samples: number;
  breaches: SignalKind[];
  /** Why each breach was raised, with the numbers. */
  reasons: string[];
  incidents: { id: string; created: boolean; signal: SignalKind }[];
  /** Health checks that could not give a verdict (no data, NaN, query errors), with the reason. */
  healthNotes: string[];
}

/** The workflow's signature, for typed starts and schedules without importing its implementation. */
export type MonitorWorkflow = (input: MonitorModelInput) => Promise<MonitorOutcome>;
