/**
 * Which process a pid names. A pid recorded in a file outlives the process: after it exits (or after a
 * reboot) the kernel hands the number to another program, so a pid file alone must never decide what
 * to signal. A process is recognised by its pid plus its start time: two processes never share both.
 *
 * Linux: /proc/<pid>/stat's start time (clock ticks since boot) with the boot id, /proc/<pid>/cmdline.
 * Elsewhere: `ps -o lstart=` and `ps -o args=` (one-second resolution, which a pid reuse cannot beat).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Opaque, comparable only with another value read on the same machine. */
  startedAt: string;
  /** argv, as the process has it now. */
  command: string[];
}

/** What a recorded identity names now. */
export type RecordedProcess =
  | { state: 'same' }
  | { state: 'gone' }
  /** The pid is alive but belongs to another process; `reason` says what differs (safe to log). */
  | { state: 'other'; reason: string };

/** The identity of live process `pid`, or undefined when there is none. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') return fromProc(pid);
  return fromPs(pid);
}

/**
 * Whether `recorded` still names the live process with its pid. The start time decides: no two
 * processes with the same pid start at the same time, while the command line may change under the same
 * process (a shell that execs its last command). The command is only used to describe an impostor.
 */
export function checkRecordedProcess(recorded: ProcessIdentity): RecordedProcess {
  const now = processIdentity(recorded.pid);
  if (!now) return { state: 'gone' };
  if (now.startedAt !== recorded.startedAt) {
    return {
      state: 'other',
      reason: `pid ${recorded.pid} now belongs to ${describeCommand(now.command)}, started ${now.startedAt}, not to ${describeCommand(recorded.command)} started ${recorded.startedAt}`,
    };
  }
  return { state: 'same' };
}

/** Parses a recorded identity (from a JSON file); undefined when malformed. */
export function parseProcessIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, startedAt, command } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof startedAt !== 'string' || !startedAt) return undefined;
  if (!Array.isArray(command) || !command.every((a): a is string => typeof a === 'string')) return undefined;
  return { pid, startedAt, command };
}

/** The program and at most the first few arguments, bounded: for messages. */
export function describeCommand(command: readonly string[]): string {
  const text = command.slice(0, 4).join(' ') + (command.length > 4 ? ' …' : '');
  return `"${text.length > 120 ? `${text.slice(0, 119)}…` : text}"`;
}

let bootId: string | undefined;

function fromProc(pid: number): ProcessIdentity | undefined {
  let stat: string;
  let cmdline: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  // Fields after comm start at field 3 (state); starttime is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = fields[22 - 3];
  if (!startTicks || fields[0] === 'Z') return undefined; // a zombie has exited already
  bootId ??= readBootId();
  const command = cmdline.split('\0');
  if (command.at(-1) === '') command.pop();
  return { pid, startedAt: `boot ${bootId} tick ${startTicks}`, command };
}

function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function fromPs(pid: number): ProcessIdentity | undefined {
  try {
    const ps = (field: string) =>
      execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, LC_ALL: 'C' },
      }).trim();
    const startedAt = ps('lstart');
    if (!startedAt) return undefined;
    return { pid, startedAt, command: ps('args').split(' ') };
  } catch {
    return undefined; // ps exits 1 when there is no such process
  }
}
