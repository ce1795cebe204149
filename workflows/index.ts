export { incidentLifecycle, type IncidentInput } from './incidentLifecycle.js';
export { retrainModel, type RetrainInput, type RetrainResult, type GateResult } from './retrainModel.js';
export { monitorModel, type MonitorModelInput } from './monitorModel.js';
export { stateQuery, addEvidenceSignal, decideUpdate } from './messages.js';
