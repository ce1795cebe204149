/**
 * What a detector needs of the incident service: open an incident (or attach evidence to the open one
 * of the same model and failure mode), and see which are open. Monitors get this, not the service.
 */
import type { EvidenceSource, EvidenceValue } from '../domain/incident.js';
import type { IncidentSummary } from './incidentStore.js';

export interface OpenIncidentRequest {
  modelId: string;
  signal: string;
  evidence?: Record<string, EvidenceValue>;
  source: EvidenceSource;
  observedAt?: Date;
}

export interface IncidentOpener {
  open(req: OpenIncidentRequest): Promise<{ id: string; created: boolean }>;
  list(opts?: { open?: boolean; modelId?: string; limit?: number }): Promise<IncidentSummary[]>;
}
