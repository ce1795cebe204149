/**
 * The incident workflow's message contract (v1): how clients (CLI, Slack, Alertmanager, monitors)
 * talk to a running incident. Handlers live in incidentLifecycle.ts.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecideRequest, DecideResult, Evidence, IncidentState } from '../domain/incident.js';

/** Live state of the incident. */
export const stateQuery = defineQuery<IncidentState>('state');

/** A repeated or related signal: attached as evidence to the open incident. */
export const addEvidenceSignal = defineSignal<[Evidence]>('addEvidence');

/** A person's approve / reject. The validator refuses it before anything is written to history. */
export const decideUpdate = defineUpdate<DecideResult, [DecideRequest]>('decide');
