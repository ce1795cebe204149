/**
 * Reads the trainer protocol's JSON lines (v1 training, v2 scoring; docs/trainer-protocol.md) as they
 * arrive, piece by piece, so a job's output is parsed once however often its status is read. What the
 * protocol does not expect is ignored rather than fatal: lines that are not JSON objects, unknown types,
 * fields of the wrong type. A line longer than MAX_PROTOCOL_LINE_CHARS is skipped without being held
 * in memory (a trainer printing a huge array must not stall or break the watch) and counted, so a job
 * whose result line was skipped can say why.
 */
import type { TrainingJobStatus, TrainingProgress } from '../../ports/trainingBackend.js';
import { processOutputMessage } from '../process/processOutputMessage.js';

export type ProtocolFields = Pick<TrainingJobStatus, 'progress' | 'metrics' | 'artifactPath' | 'outputPath' | 'error'>;

/** 64 KiB: far more than any protocol line needs (a `metrics` line with hundreds of numbers fits). */
export const MAX_PROTOCOL_LINE_CHARS = 64 * 1024;

export class TrainerProtocolReader {
  /** The last message of each type so far. */
  readonly fields: ProtocolFields = {};
  /** Lines skipped for being longer than MAX_PROTOCOL_LINE_CHARS. */
  oversizedLines = 0;
  /** The start of a line whose end has not arrived. */
  private partial = '';
  /** Inside an oversized line: drop text until its newline. */
  private skipping = false;

  /** Reads the next piece of output; a line is read once its newline arrives. */
  push(text: string): this {
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline < 0) {
        this.hold(text.slice(start));
        return this;
      }
      const rest = text.slice(start, newline);
      if (this.skipping) this.skipping = false;
      else if (this.partial.length + rest.length > MAX_PROTOCOL_LINE_CHARS) this.oversizedLines++;
      else this.line(this.partial + rest);
      this.partial = '';
      start = newline + 1;
    }
  }

  /** The output is complete: reads a last line that has no newline. */
  end(): this {
    if (!this.skipping && this.partial) this.line(this.partial);
    this.partial = '';
    this.skipping = false;
    return this;
  }

  /** Why the result may be missing, for a failure message; undefined when no line was skipped. */
  note(): string | undefined {
    if (this.oversizedLines === 0) return undefined;
    const n = this.oversizedLines;
    return `${n} stdout line${n === 1 ? ' was' : 's were'} skipped for being longer than ${MAX_PROTOCOL_LINE_CHARS / 1024} KiB`;
  }

  private hold(text: string): void {
    if (this.skipping || text === '') return;
    if (this.partial.length + text.length > MAX_PROTOCOL_LINE_CHARS) {
      this.partial = '';
      this.skipping = true;
      this.oversizedLines++;
      return;
    }
    this.partial += text;
  }

  private line(line: string): void {
    if (!line.startsWith('{')) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const out = this.fields;
    if (msg.type === 'progress') out.progress = msg as unknown as TrainingProgress;
    else if (msg.type === 'metrics') {
      const { type: _t, ...rest } = msg;
      out.metrics = Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
    } else if (msg.type === 'artifact' && typeof msg.path === 'string') out.artifactPath = msg.path;
    else if (msg.type === 'scored' && typeof msg.path === 'string') out.outputPath = msg.path;
    // The trainer's own words become the failure message: made safe to show once, here.
    else if (msg.type === 'error' && typeof msg.message === 'string') out.error = processOutputMessage(msg.message);
  }
}

/** Reads complete protocol output (a finished job's log); lines that are not protocol JSON are ignored. */
export function parseProtocol(text: string): ProtocolFields {
  return new TrainerProtocolReader().push(text).end().fields;
}
