/**
 * The training-watch activity body lives with the training adapters (adapters/training/watchTrainingJob.ts),
 * so the trainer-protocol scorer can run scoring jobs through it without an adapter importing activities/.
 */
export * from '../adapters/training/watchTrainingJob.js';
