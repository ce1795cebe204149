import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Keeps the last lines of a server's output for error messages, and appends everything to an optional log file. */
export class OutputTail {
  private buffer = '';
  private readonly file?: fs.WriteStream;

  constructor(logFile?: string) {
    if (logFile) {
      fs.mkdirSync(path.dirname(path.resolve(logFile)), { recursive: true });
      this.file = fs.createWriteStream(logFile, { flags: 'a' });
      this.file.on('error', () => undefined);
    }
  }

  add(chunk: string | Buffer): void {
    this.buffer = (this.buffer + chunk.toString()).slice(-16_000);
    this.file?.write(chunk);
  }

  attach(child: ChildProcess): void {
    child.stdout?.on('data', (c: Buffer) => this.add(c));
    child.stderr?.on('data', (c: Buffer) => this.add(c));
  }

  text(lines = 30): string {
    return this.buffer.trimEnd().split('\n').slice(-lines).join('\n');
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.file && !this.file.closed ? this.file.end(resolve) : resolve()));
  }
}
