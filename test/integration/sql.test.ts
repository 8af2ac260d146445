// The Sql calls (server/src/store/sql.ts) behave the same on SQLite and on a real PostgreSQL server: placeholders,
// numbers, changed-row counts, RETURNING, and transactions that commit, roll back, hide their rows until they end
// and serialize against each other (twenty increments of one counter at once end at twenty).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/src/store/sql.js';
import { testDatabases } from '../helpers/databases.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testDatabases())('Sql on $name', (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await kind.open();
    await db.run('CREATE TABLE scratch (k TEXT PRIMARY KEY, n BIGINT NOT NULL)');
  }, 120_000);
  afterAll(() => kind.closeAll(), 60_000);

  it('binds placeholders in order and leaves a ? in a literal alone', async () => {
    await db.run('INSERT INTO scratch (k, n) VALUES (?, ?)', ['p?', 7]);
    const row = await db.one("SELECT k, '?' AS q, n FROM scratch WHERE k = ? AND n = ?", ['p?', 7]);
    expect(row).toEqual({ k: 'p?', q: '?', n: 7 });
    await db.run('DELETE FROM scratch WHERE k = ?', ['p?']);
  });

  it('returns numbers as numbers: a time in milliseconds, COUNT and SUM', async () => {
    const at = Date.UTC(2026, 11, 6, 12, 0, 0, 123);
    await db.run('INSERT INTO scratch (k, n) VALUES (?, ?), (?, ?)', ['t1', at, 't2', 2]);
    expect(await db.one('SELECT n FROM scratch WHERE k = ?', ['t1'])).toEqual({ n: at });
    expect(await db.one("SELECT COUNT(*) AS c, SUM(n) AS s FROM scratch WHERE k LIKE 't%'")).toEqual({ c: 2, s: at + 2 });
    await db.run("DELETE FROM scratch WHERE k LIKE 't%'");
  });

  it('counts changed rows, and one() of an INSERT … RETURNING gives the row written', async () => {
    expect(await db.one('INSERT INTO scratch (k, n) VALUES (?, ?) RETURNING k, n', ['r1', 1])).toEqual({ k: 'r1', n: 1 });
    await db.run('INSERT INTO scratch (k, n) VALUES (?, ?)', ['r2', 1]);
    expect(await db.run('UPDATE scratch SET n = n + 1 WHERE k IN (?, ?, ?)', ['r1', 'r2', 'nope'])).toBe(2);
    expect(await db.run('DELETE FROM scratch WHERE k = ?', ['nope'])).toBe(0);
    expect(await db.all<{ k: string }>("SELECT k FROM scratch WHERE k LIKE 'r%' ORDER BY k")).toEqual([{ k: 'r1' }, { k: 'r2' }]);
  });

  it('commits a transaction, and rolls one back when it throws', async () => {
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO scratch (k, n) VALUES (?, ?)', ['kept', 1]);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO scratch (k, n) VALUES (?, ?)', ['lost', 1]);
        await tx.transaction(async (inner) => inner.run('UPDATE scratch SET n = 9 WHERE k = ?', ['kept']));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await db.all("SELECT k, n FROM scratch WHERE k IN ('kept', 'lost')")).toEqual([{ k: 'kept', n: 1 }]);
  });

  it('hides a transaction’s rows from other calls until it commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const written = new Promise<void>((resolve) => (inserted = resolve));
    const tx = db.transaction(async (t) => {
      await t.run('INSERT INTO scratch (k, n) VALUES (?, ?)', ['hidden', 1]);
      inserted();
      await held;
    });
    await written;
    // SQLite makes the reader wait for the transaction; PostgreSQL answers from before it: neither sees the row early.
    const during = db.one<{ c: number }>("SELECT COUNT(*) AS c FROM scratch WHERE k = 'hidden'");
    const raced = await Promise.race([during.then((r) => r?.c), sleep(200).then(() => 'waiting')]);
    expect([0, 'waiting']).toContain(raced);
    release();
    await tx;
    expect(await db.one("SELECT COUNT(*) AS c FROM scratch WHERE k = 'hidden'")).toEqual({ c: 1 });
  });

  it('serializes read-modify-write transactions: twenty increments at once end at twenty', async () => {
    await db.run('INSERT INTO scratch (k, n) VALUES (?, 0)', ['counter']);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.one<{ n: number }>('SELECT n FROM scratch WHERE k = ?', ['counter']);
          await sleep(2);
          await tx.run('UPDATE scratch SET n = ? WHERE k = ?', [row!.n + 1, 'counter']);
        }),
      ),
    );
    expect(await db.one('SELECT n FROM scratch WHERE k = ?', ['counter'])).toEqual({ n: 20 });
  }, 60_000);
});
