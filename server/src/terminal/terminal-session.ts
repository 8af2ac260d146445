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

/** A session's output held until a terminal takes the session over (attachSession). */
export interface HeldOutput {
  /** What was received so far, as text. */
  text(): string;
  /** Stops holding: the chunks received, in order. The session stays paused if holding paused it. */
  release(): Buffer[];
  /** Whether holding paused the session (its output exceeded the bound). */
  readonly paused: boolean;
}

/**
 * Holds what an attached session prints until it is taken over, up to `maxBytes`: past that the session is paused
 * (the program in the sandbox blocks) rather than the server's memory growing.
 */
export function holdOutput(session: TerminalSession, maxBytes: number): HeldOutput {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let paused = false;
  const unsubscribe = session.onData((chunk) => {
    chunks.push(chunk);
    bytes += chunk.length;
    if (!paused && bytes >= maxBytes) {
      paused = true;
      session.pause();
    }
  });
  return {
    text: () => Buffer.concat(chunks).toString('utf8'),
    release() {
      unsubscribe();
      return chunks;
    },
    get paused() {
      return paused;
    },
  };
}
