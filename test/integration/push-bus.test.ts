// The push bus on both databases: what one server publishes reaches the listeners of every server on the database
// (PostgreSQL: LISTEN/NOTIFY between two pools, as two replicas hold them; SQLite: within the process), bad channels
// and oversized payloads are refused with the reason, and on PostgreSQL the listening connection comes back after the
// server drops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUSH_PAYLOAD_MAX_BYTES } from '../../server/src/store/push-bus.js';
import type { Database } from '../../server/src/store/sql.js';
import { testDatabases, type TestDatabase } from '../helpers/databases.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The payloads `db` hears on `channel`, and a wait for one that matches. */
async function hear(db: Database, channel: string) {
  const heard: string[] = [];
  const stop = await db.push.listen(channel, (p) => heard.push(p));
  return {
    heard,
    stop,
    async waitFor(payload: string, ms = 10_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!heard.includes(payload)) {
        if (Date.now() > deadline) throw new Error(`"${payload}" not heard within ${ms} ms; heard ${JSON.stringify(heard)}`);
        await sleep(20);
      }
    },
  };
}

/** Two servers' handles on one fresh database of `database`, for the tests of the enclosing describe. */
function twoServers(database: TestDatabase): { first: Database; second: Database } {
  const handles = {} as { first: Database; second: Database };
  beforeAll(async () => {
    handles.first = await database.open();
    handles.second = await database.another();
  }, 120_000);
  afterAll(() => database.closeAll());
  return handles;
}

describe.each(testDatabases())('push bus on $name', (database) => {
  const db = twoServers(database);

  it("reaches every server's listeners on the channel, the publisher's own included, and no other channel's", async () => {
    const onSecond = await hear(db.second, 'opslab_test_a');
    const onFirst = await hear(db.first, 'opslab_test_a');
    const elsewhere = await hear(db.second, 'opslab_test_b');
    await db.first.push.publish('opslab_test_a', '{"n":1}');
    await onSecond.waitFor('{"n":1}');
    await onFirst.waitFor('{"n":1}');
    await sleep(200);
    expect(elsewhere.heard).toEqual([]);
    // A stopped listener hears nothing more; the others go on.
    onSecond.stop();
    await db.first.push.publish('opslab_test_a', '{"n":2}');
    await onFirst.waitFor('{"n":2}');
    await sleep(200);
    expect(onSecond.heard).toEqual(['{"n":1}']);
  });

  it('refuses a channel that is not a plain identifier and a payload past the limit, saying why', async () => {
    await expect(db.first.push.publish('Bad"; DROP', 'x')).rejects.toThrow('must be lower-case letters, digits and _');
    await expect(db.first.push.listen('a b', () => undefined)).rejects.toThrow('must be lower-case letters, digits and _');
    await expect(db.first.push.publish('opslab_test_a', 'x'.repeat(PUSH_PAYLOAD_MAX_BYTES + 1))).rejects.toThrow(`is over ${PUSH_PAYLOAD_MAX_BYTES}`);
    // At the limit it goes through.
    const listener = await hear(db.second, 'opslab_test_c');
    const big = 'y'.repeat(PUSH_PAYLOAD_MAX_BYTES);
    await db.first.push.publish('opslab_test_c', big);
    await listener.waitFor(big);
  });

  it('a listener that throws does not keep the message from the others', async () => {
    await db.second.push.listen('opslab_test_d', () => {
      throw new Error('listener broke');
    });
    const after = await hear(db.second, 'opslab_test_d');
    await db.first.push.publish('opslab_test_d', 'still');
    await after.waitFor('still');
  });
});

// Only PostgreSQL has a listening connection to lose (SQLite's bus is the process itself).
describe('push bus on postgres: its listening connection', () => {
  const db = twoServers(testDatabases().find((d) => d.name === 'postgres')!);

  it('listens again after the server drops the listening connection', async () => {
    const listener = await hear(db.second, 'opslab_test_e');
    await db.first.push.publish('opslab_test_e', 'before');
    await listener.waitFor('before');
    // The server ends every session that listens (the pools' connections do not), as a restart or a failover would.
    const killed = await db.first.all<{ ok: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    expect(killed.length).toBeGreaterThan(0);
    // Messages published until it listens again are lost (best effort); one published after arrives.
    const deadline = Date.now() + 15_000;
    for (let i = 0; !listener.heard.some((p) => p.startsWith('after-')); i++) {
      if (Date.now() > deadline) throw new Error(`nothing heard after the drop: ${JSON.stringify(listener.heard)}`);
      await db.first.push.publish('opslab_test_e', `after-${i}`);
      await sleep(200);
    }
  }, 30_000);
});
