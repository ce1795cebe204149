/** The workflows a Vigil worker runs (the bundle's entry point); their contracts live in contracts/. */
export { incidentLifecycle } from './incidentLifecycle.js';
export { retrainModel } from './retrainModel.js';
export { monitorModel } from './monitorModel.js';
