// The sandbox's TTY shell as the engine's attach stream carries it.
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { TerminalSession } from '../../../terminal/terminal-session.js';
import { statusOf } from './errors.js';

/** Input waiting for the engine to take it, per shell, beyond which further input is dropped. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024;

/** Attaches to the container's main TTY process (attach before start to see the first byte). */
export async function attachTty(docker: Docker, id: string): Promise<TerminalSession> {
  const container = docker.getContainer(id);
  const stream = (await container.attach({
    stream: true,
    stdin: true,
    stdout: true,
    stderr: true,
    hijack: true,
  })) as unknown as Duplex;
  return new StreamTerminalSession(stream, (size) => container.resize(size));
}

/**
 * A shell's TTY as an engine stream carries it, raw (not multiplexed): the main shell's attach stream, or an exec'd
 * shell's. `resizeTty` is the engine call that resizes that TTY.
 */
export class StreamTerminalSession implements TerminalSession {
  readonly ended: Promise<void>;
  private closed = false;

  constructor(
    private readonly stream: Duplex,
    private readonly resizeTty: (size: { h: number; w: number }) => Promise<unknown>,
  ) {
    this.ended = new Promise((resolve) => {
      const done = () => resolve();
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    stream.on('error', () => {
      /* surfaced through `ended` */
    });
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.stream.on('data', listener);
    return () => this.stream.off('data', listener);
  }

  write(data: Buffer | string): void {
    if (this.closed || this.stream.destroyed || !this.stream.writable) return;
    // A program that does not read its input (a raw-mode TTY nobody reads) stops the engine from taking more;
    // what is written then waits here, in the server's memory, and the browser's rate limit (256 KiB/s) alone
    // would let that grow for as long as the attempt lasts. Input beyond this much waiting is dropped, as a full
    // terminal would.
    if (this.stream.writableLength > MAX_PENDING_INPUT_BYTES) return;
    this.stream.write(data);
  }

  async resize(cols: number, rows: number): Promise<void> {
    try {
      await this.resizeTty({ h: rows, w: cols });
    } catch (err) {
      // A stopped container, or a shell that exited, cannot be resized; nothing to do.
      if (statusOf(err) === 409 || statusOf(err) === 404) return;
      throw err;
    }
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Lets go of the stream. The main shell keeps running (a later attach continues it); an exec'd one too (see exec-terminal.ts). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
  }
}
