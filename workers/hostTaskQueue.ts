/**
 * A worker host's own task queue: workers that share a state folder on one host (and only they) poll it
 * beside the shared queue. Steps that read or write that folder — a retrain's snapshot, its local
 * training job, the candidate's evaluation and registration — are sent there, so a retry after a crash
 * goes back to the host that has the files instead of starting over on another.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

export function hostTaskQueue(taskQueue: string, stateDir: string, hostname: string = os.hostname()): string {
  const folder = crypto.createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 10);
  // Task queue names allow any characters up to 1000 bytes; the host name is kept readable for the UI.
  const host = hostname.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 100) || 'host';
  return `${taskQueue}@${host}/${folder}`;
}
