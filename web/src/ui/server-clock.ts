// The server's clock as seen from here. Deadlines come from the server, so the countdown uses
// serverTime - Date.now() measured when an AttemptView arrived, never the bare browser clock.

export class ServerClock {
  private offsetMs = 0;
  private synced = false;

  /**
   * @param serverTime the AttemptView's serverTime
   * @param sentAt Date.now() when the request was sent, if it was a request: the answer's serverTime is
   *   then taken to be from the middle of the round trip.
   */
  sync(serverTime: string, sentAt?: number): void {
    const server = Date.parse(serverTime);
    if (Number.isNaN(server)) return;
    const receivedAt = Date.now();
    const localAtServerTime = sentAt === undefined ? receivedAt : (sentAt + receivedAt) / 2;
    this.offsetMs = server - localAtServerTime;
    this.synced = true;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds since the epoch on the server's clock. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Milliseconds until an ISO instant on the server's clock (negative once it passed). */
  until(iso: string): number {
    return Date.parse(iso) - this.now();
  }
}
