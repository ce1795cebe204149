/**
 * A benchmark's command-line options, parsed by Node's `util.parseArgs` (strict: an unknown option is
 * an error naming it), with the range checks every bench needs. `--help` prints the usage and exits 0.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface BenchArgs {
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /** The option as a number within [min, max] (an integer unless `integer` is false), or `fallback` when absent. */
  number(name: string, fallback: number, min: number, max: number, integer?: boolean): number;
}

export function benchArgs(argv: string[], spec: { usage: string; values: string[]; flags?: string[] }): BenchArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(spec.values.map((name) => [name, { type: 'string' as const }])),
        ...Object.fromEntries((spec.flags ?? []).map((name) => [name, { type: 'boolean' as const }])),
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (${spec.usage})`);
  }
  if (values.help) {
    console.log(spec.usage);
    process.exit(0);
  }
  return {
    string: (name) => values[name] as string | undefined,
    flag: (name) => values[name] === true,
    number(name, fallback, min, max, integer = true) {
      const raw = values[name] as string | undefined;
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if ((integer && !Number.isInteger(n)) || !(n >= min && n <= max)) {
        throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
      }
      return n;
    },
  };
}
