// Acknowledges output the terminal has processed, so the server can keep its unacknowledged bytes under its
// watermarks (docs/api.md, "Flow control"). One instance per socket: acks never cross connections.

import { ACK_BATCH_BYTES } from './protocol.js';

export class AckBatcher {
  /** Processed but not yet acknowledged. */
  private processed = 0;
  /** Writes handed to the terminal whose callbacks have not run yet. */
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly sendAck: (bytes: number) => void,
    private readonly batchBytes = ACK_BATCH_BYTES,
  ) {}

  /** Call when a piece of output is handed to the terminal; call the returned function when it is processed. */
  track(bytes: number): () => void {
    this.inFlight += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      this.processed += bytes;
      // Ack in batches, and as soon as the terminal has caught up so the server never waits on us.
      if (this.processed >= this.batchBytes || this.inFlight === 0) this.flush();
    };
  }

  private flush(): void {
    if (this.closed) return;
    while (this.processed > 0) {
      const bytes = Math.min(this.processed, this.batchBytes);
      this.processed -= bytes;
      this.sendAck(bytes);
    }
  }

  /** The socket is gone: drop counts, send nothing more. */
  close(): void {
    this.closed = true;
  }
}
