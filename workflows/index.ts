export { incidentLifecycle, type IncidentInput } from './incidentLifecycle.js';
export { retrainModel, type RetrainInput, type RetrainResult, type GateResult } from './retrainModel.js';
export { modelMonitor, type ModelMonitorInput } from './modelMonitor.js';
export { stateQuery, addEvidenceSignal, decideUpdate } from './messages.js';
