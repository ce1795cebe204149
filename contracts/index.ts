export * from './activities.js';
export * from './incidentWorkflow.js';
export * from './monitorWorkflow.js';
export * from './retrainWorkflow.js';
