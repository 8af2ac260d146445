// The push bus on PostgreSQL: NOTIFY through the pool, LISTEN on one connection of its own (a pooled one would be
// handed to queries). The listening connection is opened with the first listener; when it breaks (the server
// restarted, the network dropped), it is opened again after a pause growing to RECONNECT_MAX_MS and listens to
// every channel again. What was published meanwhile is lost: pushes are best effort.
import pg from 'pg';
import { checkPush, Listeners, type PushBus } from './push-bus.js';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export interface PostgresPushBus extends PushBus {
  close(): Promise<void>;
}

export function postgresPushBus(
  url: string,
  pool: Pick<pg.Pool, 'query'>,
  onError: (err: Error) => void = () => undefined,
): PostgresPushBus {
  const listeners = new Listeners((err, channel) => onError(new Error(`a push listener on ${channel} failed: ${err.message}`)));
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let closed = false;
  let pause = RECONNECT_MIN_MS;
  let retry: NodeJS.Timeout | null = null;

  const quote = (channel: string) => `"${channel}"`;

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      c.on('notification', (msg) => {
        if (msg.payload !== undefined) listeners.deliver(msg.channel, msg.payload);
      });
      c.on('error', (err) => lost(c, err));
      c.on('end', () => lost(c, new Error('the listening connection ended')));
      try {
        await c.connect();
        for (const channel of listeners.channels()) await c.query(`LISTEN ${quote(channel)}`);
      } catch (err) {
        await c.end().catch(() => undefined);
        throw err;
      }
      if (closed) {
        await c.end().catch(() => undefined);
        throw new Error('the push bus is closed');
      }
      client = c;
      pause = RECONNECT_MIN_MS;
      return c;
    })().finally(() => (connecting = null));
    return connecting;
  };

  const lost = (c: pg.Client, err: Error) => {
    if (client !== c) return;
    client = null;
    void c.end().catch(() => undefined);
    if (closed) return;
    onError(new Error(`push listening connection lost: ${err.message}; listening again in ${pause} ms`));
    schedule();
  };

  const schedule = () => {
    if (retry || closed) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch((err: Error) => {
        pause = Math.min(pause * 2, RECONNECT_MAX_MS);
        onError(new Error(`push listening connection failed: ${err.message}; again in ${pause} ms`));
        schedule();
      });
    }, pause);
    retry.unref();
  };

  return {
    async publish(channel, payload) {
      checkPush(channel, payload);
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async listen(channel, listener) {
      checkPush(channel);
      const first = !listeners.channels().includes(channel);
      const remove = listeners.add(channel, listener);
      try {
        const c = await connect();
        if (first) await c.query(`LISTEN ${quote(channel)}`);
      } catch (err) {
        remove();
        throw err;
      }
      return remove;
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
      const c = client ?? (await connecting?.catch(() => null)) ?? null;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
