/**
 * Reads what was appended to a file since the last read, so a file that keeps growing (a training job's
 * output, read every half second while it runs) is read once in all rather than whole on every look:
 * linear in its size, in bounded chunks, never the whole file in memory. UTF-8 characters split across
 * reads are decoded whole. A file that shrank (replaced or truncated) is read again from the start.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK_BYTES = 1024 * 1024;

export interface FollowedText {
  /** The file was shorter than what was read before: start over (whatever was built from it is stale). */
  restart(): void;
  /** The next piece of the file's text, in order. */
  text(chunk: string): void;
}

export class FileFollower {
  private offset = 0;
  private decoder = new StringDecoder('utf8');

  constructor(readonly file: string) {}

  /** Hands `sink` the text appended since the last call; nothing when the file does not exist (yet). */
  readNew(sink: FollowedText): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        this.offset = 0;
        this.decoder = new StringDecoder('utf8');
        sink.restart();
      }
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(1, size - this.offset)));
      while (this.offset < size) {
        const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.decoder.write(buffer.subarray(0, n));
        if (text) sink.text(text);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The last `maxBytes` of a file as text ('' when it does not exist); a character cut at the start is dropped. */
export function readFileTail(file: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    let read = 0;
    while (read < buffer.length) {
      const n = fs.readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n <= 0) break;
      read += n;
    }
    let bytes = buffer.subarray(0, read);
    // Skip UTF-8 continuation bytes left over from a character that began before the window.
    if (start > 0) {
      let skip = 0;
      while (skip < bytes.length && skip < 3 && (bytes[skip]! & 0xc0) === 0x80) skip++;
      bytes = bytes.subarray(skip);
    }
    return bytes.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
