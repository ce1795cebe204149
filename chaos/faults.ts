/**
 * The faults the chaos run injects, one at a time, each while its incidents are driven: what it breaks,
 * when, on which paths, and what its models need (an MLflow registry, Prometheus health checks, a
 * trainer that prints garbage). `fast` faults make the subset CI runs.
 */
import type { ChaosStack } from './chaosStack.js';
import { sleep, TrafficFeed, type Drive, type DriveHooks, type ModelTweaks } from './drives.js';

export interface Fault {
  id: string;
  /** The table's first column. */
  name: string;
  drives: readonly Drive[];
  /** In the subset `npm run chaos -- --fast` (and CI) runs. */
  fast?: boolean;
  needs?: { mlflow?: boolean; prometheus?: boolean };
  tweaks?: (drive: Drive, ctx: { mlflowUrl?: string; prometheusUrl?: string }) => ModelTweaks;
  /** The worker's extra environment while this fault runs. */
  workerEnv?: (stack: ChaosStack, fast: boolean) => Record<string, string>;
  /** Injected at a drive's points. */
  at?: (stack: ChaosStack) => DriveHooks['at'];
  /** Injected from the fault's start; the returned function ends it and gives the traffic it sent, to be checked. */
  during?: (stack: ChaosStack) => () => Promise<TrafficFeed[]>;
}

const ALL: readonly Drive[] = ['rollback', 'retrain', 'fallback', 'runbook'];

/**
 * Kills a supervised server with SIGKILL at the named drive points, once each; the supervisor restarts
 * it. Kills wait for the restart of the one before, so each hits a running server.
 */
function killAt(what: 'temporal' | 'postgres', points: readonly string[]): Fault['at'] {
  return (stack) => {
    const done = new Set<string>();
    let previous: Promise<void> = Promise.resolve();
    return (point, ctx) => {
      const key = `${ctx.drive}:${point}`;
      if (!points.includes(key) || done.has(key)) return;
      done.add(key);
      const supervised = what === 'temporal' ? stack.temporal : stack.postgres;
      previous = previous.then(async () => {
        const { pid } = supervised.current();
        stack.log(`SIGKILL ${what === 'temporal' ? 'Temporal dev server' : 'PostgreSQL'} (pid ${pid}) at ${key} of ${ctx.incidentId}`);
        process.kill(pid, 'SIGKILL');
        // Back when the supervisor has started another (a minute at most: it gives up before that).
        for (let i = 0; i < 600 && supervised.current().pid === pid; i++) await sleep(100);
      });
      return previous;
    };
  };
}

export const FAULTS: readonly Fault[] = [
  {
    id: 'worker-kill',
    name: 'worker SIGKILL after every activity',
    drives: ALL,
    fast: true,
    // Each activity type once, right after its work and before Temporal hears of it. The fast subset
    // keeps to the bookkeeping, the rollback and the serving mode: the rest waits out 1–2 min timeouts each.
    workerEnv: (stack, fast) => ({
      VIGIL_CHAOS_CRASH_LEDGER: `${stack.dir}/crashed-after.txt`,
      ...(fast ? { VIGIL_CHAOS_CRASH_ONLY: 'recordPhase,classifyIncident,setServingMode,rollbackModel' } : {}),
    }),
  },
  {
    id: 'temporal-kill',
    name: 'Temporal dev server SIGKILL + restart',
    drives: ALL,
    fast: true,
    at: killAt('temporal', ['rollback:decided', 'retrain:canary', 'runbook:decided']),
  },
  {
    id: 'postgres-kill',
    name: 'PostgreSQL SIGKILL + restart',
    drives: ALL,
    fast: true,
    at: killAt('postgres', ['rollback:remediating', 'retrain:remediating', 'fallback:decided']),
  },
  {
    id: 'slack-500',
    name: 'Slack API 500 for a minute',
    drives: ALL,
    during: (stack) => {
      stack.slack.outage({ status: 500 }, 60_000);
      return async () => [];
    },
  },
  {
    id: 'slack-429',
    name: 'Slack API 429 Retry-After for a minute',
    drives: ALL,
    fast: true,
    during: (stack) => {
      stack.slack.outage({ status: 429, retryAfterSeconds: 5 }, 60_000);
      return async () => [];
    },
  },
  {
    id: 'mlflow-timeout',
    name: 'MLflow answers lost (timeouts) for 20 s',
    drives: ['rollback', 'fallback'],
    needs: { mlflow: true },
    tweaks: (_drive, ctx) => ({ registry: { kind: 'mlflow', mlflow: { trackingUri: ctx.mlflowUrl, timeout: '3s' } } }),
    at: (stack) => async (point) => {
      if (point !== 'decided') return;
      stack.log('MLflow answers lost for 20 s (requests still done upstream)');
      stack.mlflow!.proxy.loseRepliesFor(20_000);
    },
  },
  {
    id: 'prometheus-down',
    name: 'Prometheus down during a canary',
    drives: ['retrain'],
    needs: { prometheus: true },
    tweaks: () => ({
      health: {
        latency_p99_ms: { query: 'vigil_chaos_latency_p99_seconds * 1000', above: 500 },
        error_rate: { query: 'vigil_chaos_error_ratio', above: 0.05 },
      },
    }),
    at: (stack) => async (point) => {
      if (point !== 'canary') return;
      stack.log('Prometheus stopped during the canary');
      await stack.prometheus!.server.stop();
    },
  },
  {
    id: 'trainer-garbage',
    name: 'trainer prints garbage and oversized lines',
    drives: ['retrain'],
    tweaks: () => ({
      trainerPrefix:
        `printf 'not json at all\\n{"type":\\n\\x00\\xff\\xfe binary\\n{"type":"progress","step":"nope"}\\n'; ` +
        `head -c 300000 /dev/zero | tr '\\0' x; printf '\\n'; head -c 100000 /dev/zero | tr '\\0' y >&2; printf '\\n' >&2`,
    }),
  },
  {
    id: 'ingest-burst',
    name: 'ingestion bursts past capacity',
    drives: ['rollback', 'fallback'],
    during: (stack) => {
      // Twice ingest.maxInFlight requests at once per model, again and again, on the models being driven.
      let stop = false;
      const feeds = stack.config.models.filter((m) => m.id.startsWith('ingest-burst-')).map((m) => new TrafficFeed(stack, m.id, 0));
      const bursts = (async () => {
        while (!stop) {
          await Promise.all(feeds.flatMap((f) => Array.from({ length: 2 * stack.config.ingest.maxInFlight }, () => f.write(500))));
          await sleep(200);
        }
        await Promise.all(feeds.map((f) => f.stop()));
      })();
      return async () => {
        stop = true;
        await bursts;
        return feeds;
      };
    },
  },
];
