// Short messages between the servers that share a database, for what must reach the one replica holding an
// attempt's terminal (a countdown after an extension, a marker in its recording). On PostgreSQL they travel as
// LISTEN/NOTIFY (postgres-push.ts); on SQLite there is one server, and they stay inside the process. Delivery is
// best effort: a message sent while a listener reconnects is lost, and the database stays the truth.

/** A channel name: lower-case letters, digits and underscores (it is a PostgreSQL identifier). */
const CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;

/** PostgreSQL's limit on a notification's payload, kept on both databases so a message never fits only one. */
export const PUSH_PAYLOAD_MAX_BYTES = 7900;

export interface PushBus {
  /** Delivers `payload` to every listener of `channel` on every server sharing the database, this one included. */
  publish(channel: string, payload: string): Promise<void>;
  /** Calls `listener` with each payload published on `channel`; resolves with a function that stops it. */
  listen(channel: string, listener: (payload: string) => void): Promise<() => void>;
}

/** Refuses a channel name that is not a plain identifier and a payload past the limit, with the reason. */
export function checkPush(channel: string, payload?: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`push channel "${channel}" must be lower-case letters, digits and _`);
  if (payload !== undefined && Buffer.byteLength(payload) > PUSH_PAYLOAD_MAX_BYTES) {
    throw new Error(`push payload of ${Buffer.byteLength(payload)} bytes is over ${PUSH_PAYLOAD_MAX_BYTES}`);
  }
}

/** The listeners of each channel, and handing a payload to them (a throwing listener does not stop the others). */
export class Listeners {
  private readonly byChannel = new Map<string, Set<(payload: string) => void>>();

  constructor(private readonly onError: (err: Error, channel: string) => void = () => undefined) {}

  add(channel: string, listener: (payload: string) => void): () => void {
    let set = this.byChannel.get(channel);
    if (!set) this.byChannel.set(channel, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byChannel.delete(channel);
    };
  }

  channels(): string[] {
    return [...this.byChannel.keys()];
  }

  deliver(channel: string, payload: string): void {
    for (const listener of this.byChannel.get(channel) ?? []) {
      try {
        listener(payload);
      } catch (err) {
        this.onError(err as Error, channel);
      }
    }
  }
}

/** The bus of a single server (SQLite): a message reaches this process's listeners, on a later tick. */
export function localPushBus(): PushBus {
  const listeners = new Listeners();
  return {
    async publish(channel, payload) {
      checkPush(channel, payload);
      setImmediate(() => listeners.deliver(channel, payload));
    },
    async listen(channel, listener) {
      checkPush(channel);
      return listeners.add(channel, listener);
    },
  };
}
