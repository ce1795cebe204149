/**
 * Everything a person or a detector does to incidents, in one place: the CLI, the monitors (and later
 * Slack and the Alertmanager receiver) all call this, so they share validation, de-duplication and
 * authorisation.
 */
import { ApplicationFailure, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { addEvidenceSignal, decideUpdate, INCIDENT_WORKFLOW, runbookSignal, stateQuery, type IncidentInput } from '../contracts/incidentWorkflow.js';
import { customRunbooksFor, findModel, modelRef, runbooksFor, type VigilConfig } from '../domain/config.js';
import { DECISION_REFUSAL, DecisionRefusedError, NotFoundError, UserInputError, type DecisionRefusal } from '../domain/errors.js';
import { isPlaceholder, personOf } from '../domain/people.js';
import { DecideRequest, failureModeForSignal, SignalKind, type DecideResult, type IncidentState, type RunbookSignal } from '../domain/incident.js';
import { INCIDENT_LIMITS, SIGNAL_NAME } from '../domain/incidentBounds.js';
import { VigilModel, VigilPhase } from '../domain/searchAttributes.js';
import type { IncidentOpener, OpenIncidentRequest } from '../ports/incidentOpener.js';
import type { IncidentStore, IncidentSummary } from '../ports/incidentStore.js';

/** How long `show` waits for an open incident's live state before using the stored copy. */
const LIVE_STATE_DEADLINE_MS = 3000;

export interface IncidentDetails extends IncidentSummary {
  decision?: IncidentState['decision'];
  state: IncidentState | Record<string, never>;
}

export interface IncidentService extends IncidentOpener {
  /**
   * Records evidence on the open incident of the signal's (model, failure mode) and never opens one
   * (e.g. a resolved alert); undefined when none is open.
   */
  attachEvidence(req: OpenIncidentRequest): Promise<{ id: string } | undefined>;
  decide(id: string, req: DecideRequest): Promise<DecideResult>;
  /** Sends a named event to the incident's runbook (it may be waiting for it); refused for a closed or unknown incident. */
  signal(id: string, req: { name: string; by: string; data?: Record<string, string> }): Promise<void>;
  list(opts?: { open?: boolean; modelId?: string; limit?: number }): Promise<IncidentSummary[]>;
  show(id: string): Promise<IncidentDetails>;
  review(id: string): Promise<string>;
}

export function createIncidentService(deps: { temporal: Client; store: IncidentStore; config: VigilConfig }): IncidentService {
  const { temporal, store, config } = deps;

  /** Validates an observation and names the one incident it belongs to: (model, failure mode). */
  function evidenceFor(req: OpenIncidentRequest) {
    const model = findModel(config, req.modelId);
    if (!model) {
      throw new UserInputError(`unknown model "${req.modelId}" (configured: ${config.models.map((m) => m.id).join(', ')})`);
    }
    const parsed = SignalKind.safeParse(req.signal);
    if (!parsed.success) {
      throw new UserInputError(`unknown signal "${req.signal}" (expected one of: ${SignalKind.options.join(', ')})`);
    }
    const signal = parsed.data;
    // Opened now; observed when the detector first saw the problem (an alert's startsAt, the start of a
    // monitor's first breaching window), so the review's time to detect is the gap between the two.
    const at = new Date();
    const observedAt = req.observedAt && req.observedAt < at ? req.observedAt : at;
    const mode = failureModeForSignal(signal);
    const evidence = { source: req.source, signal, observedAt: observedAt.toISOString(), values: req.evidence ?? {} };
    return { model, signal, at, mode, evidence };
  }

  const service: IncidentService = {
    async open(req) {
      const { model, signal, at, mode, evidence } = evidenceFor(req);

      const customRunbooks = customRunbooksFor(model);
      for (let attempt = 0; attempt < 3; attempt++) {
        const claim = await store.claim({ modelId: model.id, mode, signal, at });
        const input: IncidentInput = {
          contractVersion: 1,
          incidentId: claim.id,
          model: modelRef(model),
          signal,
          openedAt: at.toISOString(),
          runbooks: runbooksFor(model),
          // Only when a team's runbook is chosen: other incidents' input stays as it was.
          ...(Object.keys(customRunbooks).length ? { customRunbooks } : {}),
        };
        try {
          // Start-or-signal: a repeated signal attaches to the running incident as evidence.
          await temporal.workflow.signalWithStart(INCIDENT_WORKFLOW, {
            workflowId: claim.id,
            taskQueue: config.taskQueue,
            args: [input],
            signal: addEvidenceSignal,
            signalArgs: [evidence],
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            typedSearchAttributes: [
              { key: VigilModel, value: model.id },
              { key: VigilPhase, value: 'detected' },
            ],
            staticSummary: `${model.displayName}: ${signal}`,
            staticDetails: `Opened by ${req.source}. Evidence: ${JSON.stringify(evidence.values)}`,
          });
          return claim;
        } catch (err) {
          if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
          // The incident closed between our read and the signal: mark it closed and open a fresh one.
          await store.markClosed(claim.id);
        }
      }
      throw new Error(`could not open an incident for ${model.id} (${mode})`);
    },

    async attachEvidence(req) {
      const { model, mode, evidence } = evidenceFor(req);
      const id = await store.openIncidentFor(model.id, mode);
      if (!id) return undefined;
      try {
        await temporal.workflow.getHandle(id).signal(addEvidenceSignal, evidence);
        return { id };
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test((err as Error).message ?? '')) throw err;
        // The workflow finished after our read: the incident is closed, so there is nothing to attach to.
        await store.markClosed(id);
        return undefined;
      }
    },

    async decide(id, raw) {
      const parsed = DecideRequest.safeParse(raw);
      if (!parsed.success) throw new UserInputError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      if (isPlaceholder(parsed.data.by)) throw new UserInputError(`by: "${parsed.data.by}" stands for others in approver lists; it is no one's name`);
      // The person behind the name, so quorum counts people (config `people`), unless the caller that authenticated them said.
      const req = { ...parsed.data, person: parsed.data.person ?? personOf(config.people, parsed.data.by) };
      const handle = temporal.workflow.getHandle(id);
      try {
        return await handle.executeUpdate(decideUpdate, { args: [req] });
      } catch (err) {
        let reason: string;
        let refusal: DecisionRefusal = DECISION_REFUSAL.invalidDecision;
        if (err instanceof WorkflowUpdateFailedError) {
          reason = err.cause?.message ?? err.message;
          const type = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
          if (type && (Object.values(DECISION_REFUSAL) as string[]).includes(type)) refusal = type as DecisionRefusal;
        } else if (err instanceof WorkflowNotFoundError || /already completed/i.test((err as Error).message ?? '')) {
          if (!(await store.get(id))) throw new NotFoundError(`unknown incident "${id}"`);
          reason = `incident ${id} is closed`;
          refusal = DECISION_REFUSAL.noPendingApproval;
        } else {
          throw err;
        }
        // Refused decisions are part of the record: who tried, and why they were turned away.
        await store.append({
          incidentId: id,
          kind: 'decision_refused',
          actor: req.by,
          detail: { verdict: req.verdict, via: req.via, reason, ...(req.person !== req.by ? { person: req.person } : {}) },
        });
        throw new DecisionRefusedError(`decision refused: ${reason}`, refusal);
      }
    },

    async signal(id, req) {
      if (!SIGNAL_NAME.test(req.name)) throw new UserInputError(`signal name "${req.name}" must be letters, digits, _ or - (at most 63)`);
      const data = req.data ?? {};
      if (Object.keys(data).length > INCIDENT_LIMITS.signalDataKeys) throw new UserInputError(`--data: at most ${INCIDENT_LIMITS.signalDataKeys} values`);
      for (const [k, v] of Object.entries(data)) {
        if (String(v).length > INCIDENT_LIMITS.signalValueChars)
          throw new UserInputError(`--data ${k}: at most ${INCIDENT_LIMITS.signalValueChars} characters`);
      }
      const stored = await store.get(id);
      if (!stored) throw new NotFoundError(`unknown incident "${id}"`);
      if (stored.status !== 'open') throw new UserInputError(`incident ${id} is closed`);
      const signal: RunbookSignal = { name: req.name, by: req.by, ...(Object.keys(data).length ? { data } : {}) };
      await temporal.workflow.getHandle(id).signal(runbookSignal, signal);
      await store.append({ incidentId: id, kind: 'runbook_signal', actor: req.by, detail: { name: req.name, data } });
    },

    list: (opts) => store.list(opts),

    async show(id) {
      const stored = await store.get(id);
      if (!stored) throw new NotFoundError(`unknown incident "${id}"`);
      // The stored copy is written on phase changes; an open incident's evidence can be newer, so ask
      // the workflow (briefly: with no worker running, the stored copy is the best there is).
      let state = stored.state;
      if (stored.status === 'open') {
        state = await temporal.connection
          .withDeadline(Date.now() + LIVE_STATE_DEADLINE_MS, () => temporal.workflow.getHandle(id).query(stateQuery))
          .catch(() => stored.state);
      }
      return { ...stored, decision: 'decision' in state ? state.decision : undefined, state };
    },

    async review(id) {
      const markdown = await store.review(id);
      if (markdown !== undefined) return markdown;
      const stored = await store.get(id);
      if (!stored) throw new NotFoundError(`unknown incident "${id}"`);
      throw new NotFoundError(`incident "${id}" has no review yet (phase ${stored.phase})`);
    },
  };
  return service;
}
