// What several replicas on one database agree through, on SQLite and on a real PostgreSQL server: the list of
// replicas, each attempt's owner (a lease with an expiry and a fencing epoch), named leases for jobs one replica runs
// at a time, the admission of starts against the capacity, and one final grading per attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { FinalGradingExistsError, GradingRepo } from '../../server/src/store/grading-repo.js';
import { LeasesRepo } from '../../server/src/store/leases-repo.js';
import type { Database } from '../../server/src/store/sql.js';
import { testDatabases } from '../helpers/databases.js';
import { attempt as created, T0, type NewAttempt } from '../helpers/store-fixtures.js';

/** An interview attempt running in its sandbox. */
const attempt = (id: string, over: Partial<NewAttempt> = {}): NewAttempt =>
  created(id, {
    state: 'running',
    startedAt: T0,
    deadline: T0 + 3600_000,
    sandboxId: `sb_${id}`,
    sandboxStatus: 'running',
    mode: 'interview',
    ...over,
  });

describe.each(testDatabases())('leases and admission on $name', (database) => {
  let sql: Database;
  let leases: LeasesRepo;
  let repo: AttemptsRepo;
  let n = 0;
  const newId = () => `a_${String(++n).padStart(20, '0')}`;

  beforeAll(async () => {
    sql = await database.open();
    leases = new LeasesRepo(sql);
    repo = new AttemptsRepo(sql);
  }, 120_000);
  afterAll(() => database.closeAll());

  it('an attempt is taken by one replica at a time, and by another only once its lease ran out', async () => {
    const id = newId();
    await repo.insert(attempt(id));
    expect(await leases.lease(id)).toEqual({ attemptId: id, owner: null, epoch: 0, leaseUntil: null });
    expect(await leases.take(id, 'ra', T0, T0 + 10_000)).toBe(1);
    // Held: another replica cannot take it; the holder takes it again (a restart under the same id) with a new epoch.
    expect(await leases.take(id, 'rb', T0 + 5_000, T0 + 15_000)).toBeNull();
    expect(await leases.take(id, 'ra', T0 + 5_000, T0 + 15_000)).toBe(2);
    // Past the lease: the other replica takes it.
    expect(await leases.take(id, 'rb', T0 + 15_001, T0 + 25_000)).toBe(3);
    expect(await leases.lease(id)).toEqual({ attemptId: id, owner: 'rb', epoch: 3, leaseUntil: T0 + 25_000 });
    // Forced (the replica that ended the attempt grades it), whoever holds it.
    expect(await leases.take(id, 'ra', T0 + 16_000, T0 + 26_000, { force: true })).toBe(4);
  });

  it('renewal keeps what a replica holds under the epoch it knows, and reports what it lost', async () => {
    const [a, b, c] = [newId(), newId(), newId()];
    for (const id of [a, b, c]) await repo.insert(attempt(id));
    const held = new Map<string, number>();
    for (const id of [a, b, c]) held.set(id, (await leases.take(id, 'ra', T0, T0 + 10_000))!);
    expect((await leases.renew('ra', held, T0 + 20_000)).sort()).toEqual([a, b, c].sort());
    expect((await leases.lease(a))!.leaseUntil).toBe(T0 + 20_000);
    // b is taken by another replica after a missed renewal; c ends and is archived.
    expect(await leases.take(b, 'rb', T0 + 20_001, T0 + 30_000)).not.toBeNull();
    await repo.update(c, { state: 'archived' });
    expect(await leases.renew('ra', held, T0 + 30_000)).toEqual([a]);
    // The fencing check: the current owner under the current epoch, while the lease runs.
    expect(await leases.holds(a, 'ra', held.get(a)!, T0 + 25_000)).toBe(true);
    expect(await leases.holds(a, 'ra', held.get(a)! - 1, T0 + 25_000)).toBe(false);
    expect(await leases.holds(b, 'ra', held.get(b)!, T0 + 25_000)).toBe(false);
    expect(await leases.holds(a, 'ra', held.get(a)!, T0 + 30_001)).toBe(false);
    // A clean shutdown lets its attempts go at once.
    await leases.release('ra', [a]);
    expect(await leases.take(a, 'rb', T0 + 25_000, T0 + 35_000)).not.toBeNull();
  });

  it('a named lease has one holder until it runs out', async () => {
    expect(await leases.acquire('retention-purge', 'ra', T0, T0 + 30_000)).toBe(true);
    expect(await leases.acquire('retention-purge', 'rb', T0 + 1_000, T0 + 31_000)).toBe(false);
    expect(await leases.acquire('retention-purge', 'ra', T0 + 20_000, T0 + 50_000)).toBe(true);
    expect(await leases.acquire('retention-purge', 'rb', T0 + 40_000, T0 + 70_000)).toBe(false);
    expect(await leases.acquire('retention-purge', 'rb', T0 + 50_001, T0 + 80_000)).toBe(true);
  });

  it('replicas register, beat, are listed while alive and leave cleanly', async () => {
    await leases.register({ id: 'rx', address: 'http://10.0.0.1:8080', boot: 'b1', startedAt: T0, seenAt: T0 });
    expect(await leases.heartbeat('rx', 'b1', T0 + 3_000, 4)).toBe(true);
    // A second process under the same id took the row over: the first one's heartbeat is refused.
    await leases.register({ id: 'rx', address: 'http://10.0.0.2:8080', boot: 'b2', startedAt: T0 + 4_000, seenAt: T0 + 4_000 });
    expect(await leases.heartbeat('rx', 'b1', T0 + 6_000, 4)).toBe(false);
    expect(await leases.replica('rx')).toMatchObject({ address: 'http://10.0.0.2:8080', boot: 'b2', reserved: 0 });
    expect((await leases.live(T0 + 4_000)).map((r) => r.id)).toContain('rx');
    expect((await leases.live(T0 + 4_001)).map((r) => r.id)).not.toContain('rx');
    await leases.deregister('rx', 'b1');
    expect(await leases.replica('rx')).toBeDefined();
    await leases.deregister('rx', 'b2');
    expect(await leases.replica('rx')).toBeUndefined();
  });

  it('one final grading per attempt; regrades are kept beside it', async () => {
    const id = newId();
    await repo.insert(attempt(id, { state: 'submitted' }));
    const grading = new GradingRepo(sql);
    const run = { attemptId: id, kind: 'final' as const, startedAt: T0, finishedAt: T0 + 1, score: 0, maxScore: 0, results: [], cleanroom: [], error: null };
    await grading.insert(run);
    await expect(grading.insert(run)).rejects.toBeInstanceOf(FinalGradingExistsError);
    await grading.insert({ ...run, requestedBy: 'u_staff' });
    expect(await grading.finals(id)).toHaveLength(2);
  });
});

describe.each(testDatabases())('admission against the capacity on $name', (database) => {
  let handles: Database[];

  beforeAll(async () => {
    // Three servers' handles on one database (PostgreSQL: a connection pool each).
    handles = [await database.open(), await database.another(), await database.another()];
  }, 120_000);
  afterAll(() => database.closeAll());

  it('concurrent starts never pass the limit, counting the other live replicas’ reserved sandboxes', async () => {
    const sql = handles[0]!;
    const leases = new LeasesRepo(sql);
    const now = Date.now();
    // Another live replica holds 3 pooled sandboxes; a dead one's 50 do not count.
    await leases.register({ id: 'rother', address: 'http://x', boot: 'b', startedAt: now, seenAt: now });
    await leases.heartbeat('rother', 'b', now, 3);
    await leases.register({ id: 'rdead', address: 'http://y', boot: 'b', startedAt: now - 60_000, seenAt: now - 60_000 });
    await leases.heartbeat('rdead', 'b', now - 60_000, 50);
    const limit = 17;
    const tries = Array.from({ length: 40 }, (_, i) => {
      const repo = new AttemptsRepo(handles[i % handles.length]!);
      return repo.insertAdmitted(attempt(`a_${String(9000 + i).padStart(20, '0')}`, { sandboxStatus: 'provisioning', state: 'created' }), {
        owner: `r${i % 3}`,
        leaseUntil: now + 10_000,
        limit,
        modeLimit: null,
        // This replica's own pool: 1 sandbox.
        reserved: 1,
        liveSince: now - 10_000,
      });
    });
    const admitted = (await Promise.all(tries)).filter(Boolean).length;
    expect(admitted).toBe(limit - 3 - 1);
    expect(await new AttemptsRepo(sql).countHoldingSandbox()).toBe(limit - 3 - 1);
    // Each admitted attempt is owned by the replica that admitted it, epoch 1.
    const rows = await sql.all<{ owner: string; owner_epoch: number }>("SELECT owner, owner_epoch FROM attempts WHERE state = 'created'");
    expect(rows.every((r) => /^r[012]$/.test(r.owner) && r.owner_epoch === 1)).toBe(true);
  });

  it('a mode limit is kept the same way', async () => {
    const sql = handles[0]!;
    const now = Date.now();
    const before = await new AttemptsRepo(sql).countHoldingSandbox('practice');
    const tries = Array.from({ length: 12 }, (_, i) =>
      new AttemptsRepo(sql).insertAdmitted(attempt(`a_${String(9500 + i).padStart(20, '0')}`, { mode: 'practice', sandboxStatus: 'provisioning', state: 'created' }), {
        owner: 'r0',
        leaseUntil: now + 10_000,
        limit: 1000,
        modeLimit: before + 5,
        reserved: 0,
        liveSince: now - 10_000,
      }),
    );
    expect((await Promise.all(tries)).filter(Boolean)).toHaveLength(5);
  });
});
