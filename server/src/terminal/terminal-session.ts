/**
 * The small contract between a shell running somewhere (a container's TTY) and everything that consumes it:
 * the WebSocket bridge, the screen mirror and the recorder. Output can be paused for flow control.
 */
export interface TerminalSession {
  onData(listener: (chunk: Buffer) => void): () => void;
  write(data: Buffer | string): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Stop reading output; the program in the sandbox blocks once the TTY's buffers are full. */
  pause(): void;
  resume(): void;
  /** Resolves when the output stream ends (the shell exited or the sandbox stopped). */
  readonly ended: Promise<void>;
  /** Detach without stopping the shell. */
  close(): void;
}

/** One entry of the engine's log of a sandbox's shell: a line (or part of one) and when the engine got it. */
export interface ShellLogEntry {
  at: number;
  data: Buffer;
}
