/**
 * Worker interceptors that SIGKILL the worker process right after an activity has done its work and
 * before Temporal hears the result: the retry, on another worker, must find the work done instead of
 * doing it again. `kill` says, per finished activity, whether to die now and what to print first.
 */
import type { Info as ActivityInfo } from '@temporalio/activity';
import type { WorkerInterceptors } from '@temporalio/worker';

export function killAfterActivity(kill: (info: ActivityInfo) => string | undefined): WorkerInterceptors {
  return {
    activity: [
      (ctx) => ({
        inbound: {
          async execute(input, next) {
            const result = await next(input);
            const last = kill(ctx.info);
            if (last !== undefined) {
              console.log(last);
              process.kill(process.pid, 'SIGKILL');
              await new Promise(() => undefined);
            }
            return result;
          },
        },
      }),
    ],
  };
}
