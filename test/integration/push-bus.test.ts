// The push bus on both databases: what one server publishes reaches the listeners of every server on the database
// (PostgreSQL: LISTEN/NOTIFY between two pools, as two replicas hold them; SQLite: within the process), bad channels
// and oversized payloads are refused with the reason, and on PostgreSQL the listening connection comes back after the
// server drops it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUSH_PAYLOAD_MAX_BYTES } from '../../server/src/store/push-bus.js';
import type { Database } from '../../server/src/store/sql.js';
import { testDatabases } from '../helpers/databases.js';

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

describe.each(testDatabases())('push bus on $name', (database) => {
  let first: Database;
  let second: Database;

  beforeAll(async () => {
    first = await database.open();
    second = await database.another();
  }, 120_000);
  afterAll(() => database.closeAll());

  it("reaches every server's listeners on the channel, the publisher's own included, and no other channel's", async () => {
    const onSecond = await hear(second, 'opslab_test_a');
    const onFirst = await hear(first, 'opslab_test_a');
    const elsewhere = await hear(second, 'opslab_test_b');
    await first.push.publish('opslab_test_a', '{"n":1}');
    await onSecond.waitFor('{"n":1}');
    await onFirst.waitFor('{"n":1}');
    await sleep(200);
    expect(elsewhere.heard).toEqual([]);
    // A stopped listener hears nothing more; the others go on.
    onSecond.stop();
    await first.push.publish('opslab_test_a', '{"n":2}');
    await onFirst.waitFor('{"n":2}');
    await sleep(200);
    expect(onSecond.heard).toEqual(['{"n":1}']);
  });

  it('refuses a channel that is not a plain identifier and a payload past the limit, saying why', async () => {
    await expect(first.push.publish('Bad"; DROP', 'x')).rejects.toThrow('must be lower-case letters, digits and _');
    await expect(first.push.listen('a b', () => undefined)).rejects.toThrow('must be lower-case letters, digits and _');
    await expect(first.push.publish('opslab_test_a', 'x'.repeat(PUSH_PAYLOAD_MAX_BYTES + 1))).rejects.toThrow(`is over ${PUSH_PAYLOAD_MAX_BYTES}`);
    // At the limit it goes through.
    const listener = await hear(second, 'opslab_test_c');
    const big = 'y'.repeat(PUSH_PAYLOAD_MAX_BYTES);
    await first.push.publish('opslab_test_c', big);
    await listener.waitFor(big);
  });

  it('a listener that throws does not keep the message from the others', async () => {
    await second.push.listen('opslab_test_d', () => {
      throw new Error('listener broke');
    });
    const after = await hear(second, 'opslab_test_d');
    await first.push.publish('opslab_test_d', 'still');
    await after.waitFor('still');
  });
});

// Only PostgreSQL has a listening connection to lose (SQLite's bus is the process itself).
describe('push bus on postgres: its listening connection', () => {
  const database = testDatabases().find((d) => d.name === 'postgres')!;
  let first: Database;
  let second: Database;

  beforeAll(async () => {
    first = await database.open();
    second = await database.another();
  }, 120_000);
  afterAll(() => database.closeAll());

  it('listens again after the server drops the listening connection', async () => {
    const listener = await hear(second, 'opslab_test_e');
    await first.push.publish('opslab_test_e', 'before');
    await listener.waitFor('before');
    // The server ends every session that listens (the pools' connections do not), as a restart or a failover would.
    const killed = await first.all<{ ok: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    );
    expect(killed.length).toBeGreaterThan(0);
    // Messages published until it listens again are lost (best effort); one published after arrives.
    const deadline = Date.now() + 15_000;
    for (let i = 0; !listener.heard.some((p) => p.startsWith('after-')); i++) {
      if (Date.now() > deadline) throw new Error(`nothing heard after the drop: ${JSON.stringify(listener.heard)}`);
      await first.push.publish('opslab_test_e', `after-${i}`);
      await sleep(200);
    }
  }, 30_000);
});
