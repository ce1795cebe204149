/**
 * Keeps a server `vigil up` started (embedded PostgreSQL, the Temporal dev server) running: the moment
 * its process exits, unasked, the supervisor logs it and starts it again after a backoff (1 s, 2 s,
 * 4 s… up to 30 s; back to 1 s once it has stayed up a minute). A server that keeps dying (a sixth
 * death within five minutes of five restarts) or cannot be started again is given up on: `onGiveUp`
 * gets an error naming it, and `vigil up` stops everything rather than run half-alive.
 */

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running server process: the supervisor watches `exited` and calls `stop()` only when asked to stop. */
export interface SupervisedServer {
  pid: number;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<ProcessExit>;
  stop(): Promise<void>;
}

export interface RestartPolicy {
  /** Delay before the first restart; doubled for each further restart in a row. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A server that ran this long before dying is restarted after `initialDelayMs` again. */
  resetAfterMs: number;
  /** Give up on a death when there were already this many restarts within `windowMs`. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
  maxRestarts: 5,
  windowMs: 5 * 60_000,
};

export type RestartDecision = { restart: true; delayMs: number; restartsInWindow: number } | { restart: false; restartsInWindow: number };

/** The bookkeeping: when to restart after each death, and when to stop trying. Time is passed in. */
export class RestartBudget {
  private restarts: number[] = [];
  private inARow = 0;

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  /** A death (or a failed start) at `now`, of a server that had been up for `upForMs`. */
  onDeath(now: number, upForMs: number): RestartDecision {
    this.restarts = this.restarts.filter((t) => now - t < this.policy.windowMs);
    if (this.restarts.length >= this.policy.maxRestarts) return { restart: false, restartsInWindow: this.restarts.length };
    if (upForMs >= this.policy.resetAfterMs) this.inARow = 0;
    const delayMs = Math.min(this.policy.initialDelayMs * 2 ** this.inARow, this.policy.maxDelayMs);
    this.inARow += 1;
    this.restarts.push(now);
    return { restart: true, delayMs, restartsInWindow: this.restarts.length };
  }
}

export interface Supervision<T extends SupervisedServer> {
  /** The server as it runs now (a restart replaces it). */
  current(): T;
  /** Stops supervising (an exit from here on is expected) and stops the server. */
  stop(): Promise<void>;
}

export function superviseServer<T extends SupervisedServer>(opts: {
  /** What messages call it: "PostgreSQL", "Temporal dev server". */
  name: string;
  /** The server as first started. */
  first: T;
  /** Starts it again, on the same ports and data. */
  restart: () => Promise<T>;
  log: (m: string) => void;
  /** Called once, when the server keeps dying; the error names it and what happened. */
  onGiveUp: (err: Error) => void;
  policy?: RestartPolicy;
  now?: () => number;
}): Supervision<T> {
  const policy = opts.policy ?? DEFAULT_RESTART_POLICY;
  const now = opts.now ?? Date.now;
  const budget = new RestartBudget(policy);
  let current = opts.first;
  let upSince = now();
  let stopping = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  const window = formatDuration(policy.windowMs);

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      void stopRequested.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  const loop = (async () => {
    for (;;) {
      const exit = await Promise.race([current.exited, stopRequested.then(() => undefined)]);
      if (stopping || !exit) return;
      const diedAt = now();
      let what = `${opts.name} (pid ${current.pid}) ${describeExit(exit)}`;
      let upForMs = diedAt - upSince;
      for (;;) {
        const decision = budget.onDeath(now(), upForMs);
        if (!decision.restart) {
          const err = new Error(
            `${opts.name} kept dying: ${what} after ${decision.restartsInWindow} restarts within ${window}; ` +
              `stopping Vigil rather than run without it (see its log for why it died)`,
          );
          opts.log(err.message);
          opts.onGiveUp(err);
          return;
        }
        opts.log(
          `${what}; restarting it in ${formatDuration(decision.delayMs)} (restart ${decision.restartsInWindow} of at most ${policy.maxRestarts} within ${window})`,
        );
        await pause(decision.delayMs);
        if (stopping) return;
        try {
          const restarted = await opts.restart();
          if (stopping) {
            await restarted.stop();
            return;
          }
          current = restarted;
          upSince = now();
          opts.log(`${opts.name} is back (pid ${current.pid}), ${formatDuration(upSince - diedAt)} after it died`);
          break;
        } catch (err) {
          what = `${opts.name} could not be restarted (${firstLine(err)})`;
          upForMs = 0;
        }
      }
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    current: () => current,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        wake();
        await loop;
        await current.stop();
      })()),
  };
}

function describeExit(exit: ProcessExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.slice(0, 300);
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}
