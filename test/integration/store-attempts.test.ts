// AttemptsRepo, GradingRepo (with its ConfirmationsRepo), InvitesRepo and ReviewsRepo on SQLite and on a real
// PostgreSQL server: attempts stored and read back field for field, guarded updates, the lists and counts the
// lifecycle, capacity and retention work from, events; gradings counted with reviewers' confirmations (and counted
// again when one changes), the final gradings' verdicts picked out by each database's own SQL and, like the
// confirmations, read for many attempts at once; invites claimed exactly once, extended by increments and listed
// with their attempts' states; reviews kept per reviewer and read for many attempts at once, and the dashboard's
// attempt list with its filters, sorts and paging (with the candidate's email and the exercise version taken).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../contract/attempts.js';
import type { AttemptQuery } from '../../server/src/store/reviews-repo.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { InvitesRepo, type Invite } from '../../server/src/store/invites-repo.js';
import { ReviewsRepo } from '../../server/src/store/reviews-repo.js';
import type { Database, Sql } from '../../server/src/store/sql.js';
import { testDatabases } from '../helpers/databases.js';
import { addUsers, attempt, check, DAY, invite, run, T0 } from '../helpers/store-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const count = async (sql: Sql, table: string, where = '', params: string[] = []) =>
  (await sql.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} ${where}`, params))!.n;

const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

describe.each(testDatabases())('attempt repositories on $name', (kind) => {
  afterAll(() => kind.closeAll(), 60_000);

  describe('AttemptsRepo', () => {
    let db: Database;
    let attempts: AttemptsRepo;
    let invites: InvitesRepo;
    beforeAll(async () => {
      db = await kind.open();
      attempts = new AttemptsRepo(db);
      invites = new InvitesRepo(db);
      await addUsers(db, 'u_alice');
    }, 120_000);
    // Each case starts from no attempts and no invites (events, gradings, reviews and confirmations go with them).
    beforeEach(async () => {
      await db.run('DELETE FROM invites');
      await db.run('DELETE FROM attempts');
    });

    it('reads back every field it stored: parameters as JSON, the feedback flag, nulls', async () => {
      const before = Date.now();
      const full = await attempts.insert(
        attempt('a_full', {
          exerciseId: 'ex-git',
          state: 'archived',
          timeLimitSeconds: 5400,
          createdAt: T0,
          startedAt: T0 + 1000,
          deadline: T0 + 5_401_000,
          endedAt: T0 + 60_000,
          endReason: 'submitted',
          sandboxId: 'sbx-123',
          sandboxStatus: 'exited',
          recordingPath: 'recordings/a_full.cast',
          failure: 'image pull took too long',
          seed: 'seed-42',
          params: { region: 'eu-west-1', port: '8080', quoted: 'say "hi", ünïcode' },
          hintsRevealed: 2,
          mode: 'interview',
          inviteId: 'inv_full',
          feedback: false,
          ownerHash: 'owner-hash',
          exerciseVersion: 'v7',
        }),
      );
      expect(full.updatedAt).toBeGreaterThanOrEqual(before);
      expect(await attempts.get('a_full')).toEqual(full);

      const bare = await attempts.insert(attempt('a_bare'));
      expect(bare.exerciseVersion).toBeNull();
      expect(await attempts.get('a_bare')).toEqual(bare);
      expect(bare).toMatchObject({ params: {}, feedback: true, startedAt: null, endReason: null, seed: null, ownerHash: null });

      // Attempts from before variants have no parameters stored at all: read as none.
      await db.run('UPDATE attempts SET params = NULL WHERE id = ?', ['a_bare']);
      expect((await attempts.get('a_bare'))!.params).toEqual({});
      expect(await attempts.get('a_none')).toBeUndefined();
    });

    it('updates the fields given (null clears, undefined leaves) and moves updatedAt', async () => {
      const stored = await attempts.insert(attempt('a_upd', { failure: 'kept', seed: 's1' }));
      await sleep(3);
      const updated = await attempts.update('a_upd', {
        state: 'running',
        startedAt: T0 + 5,
        sandboxStatus: 'running',
        params: { size: 'large' },
        feedback: false,
        seed: null,
        failure: undefined,
      });
      expect(updated).toEqual({
        ...stored,
        state: 'running',
        startedAt: T0 + 5,
        sandboxStatus: 'running',
        params: { size: 'large' },
        feedback: false,
        seed: null,
        failure: 'kept',
        updatedAt: updated!.updatedAt,
      });
      expect(updated!.updatedAt).toBeGreaterThan(stored.updatedAt);
      expect(await attempts.get('a_upd')).toEqual(updated);
      expect(await attempts.update('a_missing', { state: 'failed' })).toBeUndefined();
    });

    it('updates under the expectState guard only while the attempt is in one of those states', async () => {
      await attempts.insert(attempt('a_cas', { state: 'running' }));
      const ended = await attempts.update('a_cas', { state: 'submitted', endedAt: T0 + 9, endReason: 'submitted' }, ['created', 'running']);
      expect(ended).toMatchObject({ state: 'submitted', endedAt: T0 + 9, endReason: 'submitted' });

      const before = await attempts.get('a_cas');
      await sleep(3);
      expect(await attempts.update('a_cas', { state: 'expired', endReason: 'expired' }, ['running'])).toBeUndefined();
      expect(await attempts.get('a_cas')).toEqual(before);

      // Two transitions racing from the same state: one wins.
      const raced = await Promise.all([
        attempts.update('a_cas', { state: 'archived' }, ['submitted']),
        attempts.update('a_cas', { state: 'failed', failure: 'lost' }, ['submitted']),
      ]);
      expect(raced.filter((a) => a !== undefined)).toHaveLength(1);
      expect(['archived', 'failed']).toContain((await attempts.get('a_cas'))!.state);
    });

    it('lists the attempts in given states oldest first', async () => {
      await attempts.insert(attempt('a_run', { state: 'running', createdAt: T0 + 2 }));
      await attempts.insert(attempt('a_new', { state: 'created', createdAt: T0 + 1 }));
      await attempts.insert(attempt('a_old', { state: 'archived', createdAt: T0 + 3 }));
      await attempts.insert(attempt('a_sub', { state: 'submitted', createdAt: T0 }));
      expect(ids(await attempts.listInStates(['running', 'created', 'submitted']))).toEqual(['a_sub', 'a_new', 'a_run']);
      expect(ids(await attempts.listInStates(['archived']))).toEqual(['a_old']);
      expect(await attempts.listInStates(['failed'])).toEqual([]);
    });

    it('counts the attempts holding a sandbox, of every mode or of one', async () => {
      await attempts.insert(attempt('h1', { mode: 'practice', state: 'running', sandboxStatus: 'running' }));
      await attempts.insert(attempt('h2', { mode: 'interview', state: 'created', sandboxStatus: 'provisioning' }));
      await attempts.insert(attempt('h3', { mode: 'practice', state: 'expired', sandboxStatus: 'exited' }));
      await attempts.insert(attempt('h4', { mode: 'practice', state: 'submitted', sandboxStatus: 'exited' }));
      // Not holding one: the sandbox is gone, or the attempt is over.
      await attempts.insert(attempt('n1', { mode: 'practice', state: 'running', sandboxStatus: 'missing' }));
      await attempts.insert(attempt('n2', { mode: 'interview', state: 'submitted', sandboxStatus: 'removed' }));
      await attempts.insert(attempt('n3', { mode: 'interview', state: 'archived', sandboxStatus: 'running' }));
      await attempts.insert(attempt('n4', { mode: 'practice', state: 'failed', sandboxStatus: 'provisioning' }));
      expect(await attempts.countHoldingSandbox()).toBe(4);
      expect(await attempts.countHoldingSandbox('practice')).toBe(3);
      expect(await attempts.countHoldingSandbox('interview')).toBe(1);
    });

    it("lists an exercise's attempts in given states oldest first, and a trainee's attempts newest first", async () => {
      await attempts.insert(attempt('e1', { exerciseId: 'ex-git', state: 'running', createdAt: T0 + 3, ownerHash: 'trainee-1' }));
      await attempts.insert(attempt('e2', { exerciseId: 'ex-git', state: 'created', createdAt: T0 + 1, ownerHash: 'trainee-2' }));
      await attempts.insert(attempt('e3', { exerciseId: 'ex-git', state: 'archived', createdAt: T0 + 2, ownerHash: 'trainee-1' }));
      await attempts.insert(attempt('e4', { exerciseId: 'ex-linux', state: 'running', createdAt: T0, ownerHash: 'trainee-1' }));
      expect(ids(await attempts.listByExercise('ex-git', ['created', 'running']))).toEqual(['e2', 'e1']);
      expect(ids(await attempts.listByExercise('ex-git', ['created', 'running', 'archived']))).toEqual(['e2', 'e3', 'e1']);
      expect(await attempts.listByExercise('ex-none', ['running'])).toEqual([]);

      expect(ids(await attempts.listByOwner('trainee-1'))).toEqual(['e1', 'e3', 'e4']);
      expect(ids(await attempts.listByOwner('trainee-2'))).toEqual(['e2']);
      expect(await attempts.listByOwner('nobody')).toEqual([]);
    });

    it('finds the running practice attempt that started first, leaving out those given', async () => {
      await attempts.insert(attempt('p_late', { state: 'running', startedAt: T0 + 10, createdAt: T0 }));
      await attempts.insert(attempt('p_tie2', { state: 'running', startedAt: T0 + 5, createdAt: T0 + 2 }));
      await attempts.insert(attempt('p_tie1', { state: 'running', startedAt: T0 + 5, createdAt: T0 + 1 }));
      await attempts.insert(attempt('i_early', { mode: 'interview', state: 'running', startedAt: T0, createdAt: T0 }));
      await attempts.insert(attempt('p_done', { state: 'submitted', startedAt: T0, createdAt: T0 }));
      expect((await attempts.oldestRunningPractice())?.id).toBe('p_tie1');
      expect((await attempts.oldestRunningPractice(new Set(['p_tie1'])))?.id).toBe('p_tie2');
      expect((await attempts.oldestRunningPractice(['p_tie1', 'p_tie2']))?.id).toBe('p_late');
      expect(await attempts.oldestRunningPractice(new Set(['p_tie1', 'p_tie2', 'p_late']))).toBeUndefined();
    });

    it('deletes an attempt with its invite, events, gradings, reviews and confirmations', async () => {
      const grading = new GradingRepo(db);
      const reviews = new ReviewsRepo(db);
      await attempts.insert(attempt('d1', { mode: 'interview', inviteId: 'inv_d1' }));
      await invites.insert(invite('inv_d1', { attemptId: 'd1', claimedAt: T0 }));
      await attempts.insert(attempt('d2', { mode: 'interview', inviteId: 'inv_d2' }));
      await invites.insert(invite('inv_d2', { attemptId: 'd2', claimedAt: T0 }));
      for (const id of ['d1', 'd2']) {
        await attempts.addEvent(id, 'started');
        const final = await grading.insert(run(id, 'final', T0 + 10, [check('adv', 2, 'pass', true)]));
        await grading.confirm({ attemptId: id, checkId: 'adv', verdict: 'pass', comment: '', graderVerdict: 'pass', gradingRunId: final.id, confirmedBy: 'u_alice', confirmedAt: T0 });
        await reviews.upsert({ attemptId: id, reviewerId: 'u_alice', ratings: {}, recommendation: 'yes', summary: '' });
      }

      await attempts.delete('d1');
      expect(await attempts.get('d1')).toBeUndefined();
      expect(await invites.get('inv_d1')).toBeUndefined();
      for (const table of ['attempt_events', 'grading_runs', 'reviews', 'check_confirmations']) {
        expect(await count(db, table, 'WHERE attempt_id = ?', ['d1'])).toBe(0);
        expect(await count(db, table, 'WHERE attempt_id = ?', ['d2'])).toBe(1);
      }
      expect(await invites.get('inv_d2')).toMatchObject({ attemptId: 'd2' });
      await attempts.delete('d_missing');
      expect(await attempts.get('d2')).toBeDefined();
    });

    it('lists attempts that are over and ended before a cutoff (created_at when never ended), of every mode or of one', async () => {
      const cutoff = T0 + 100;
      await attempts.insert(attempt('o_arch', { state: 'archived', createdAt: T0 + 2, endedAt: T0 + 50 }));
      await attempts.insert(attempt('o_fail', { mode: 'interview', state: 'failed', createdAt: T0 + 1, endedAt: null }));
      await attempts.insert(attempt('o_recent', { state: 'archived', createdAt: T0, endedAt: T0 + 150 }));
      await attempts.insert(attempt('o_edge', { state: 'archived', createdAt: T0 + 3, endedAt: cutoff }));
      await attempts.insert(attempt('o_live', { state: 'running', createdAt: T0 }));
      await attempts.insert(attempt('o_expired', { state: 'expired', createdAt: T0, endedAt: T0 + 1 }));
      await attempts.insert(attempt('o_late_fail', { state: 'failed', createdAt: T0 + 200, endedAt: null }));
      expect(await attempts.endedBefore(cutoff)).toEqual(['o_fail', 'o_arch']);
      expect(await attempts.endedBefore(cutoff, 'interview')).toEqual(['o_fail']);
      expect(await attempts.endedBefore(cutoff, 'practice')).toEqual(['o_arch']);
      expect(await attempts.endedBefore(T0 + 1000)).toEqual(['o_recent', 'o_fail', 'o_arch', 'o_edge', 'o_late_fail']);
    });

    it('purges the invites never started that expired before a cutoff', async () => {
      const cutoff = T0 + 10 * DAY;
      await attempts.insert(attempt('started', { mode: 'interview', inviteId: 'inv_used' }));
      await invites.insert(invite('inv_unused', { expiresAt: cutoff - 1 }));
      await invites.insert(invite('inv_revoked', { expiresAt: cutoff - DAY, revokedAt: T0 }));
      await invites.insert(invite('inv_open', { expiresAt: cutoff + 1 }));
      await invites.insert(invite('inv_edge', { expiresAt: cutoff }));
      await invites.insert(invite('inv_used', { expiresAt: cutoff - DAY, attemptId: 'started' }));
      expect(await attempts.purgeUnusedInvites(cutoff)).toBe(2);
      expect(ids(await invites.list()).sort()).toEqual(['inv_edge', 'inv_open', 'inv_used']);
      expect(await attempts.purgeUnusedInvites(cutoff)).toBe(0);
    });

    it('names every exercise version in use by attempts and invites once, as exerciseId and version', async () => {
      await attempts.insert(attempt('v1a', { exerciseId: 'ex-a', exerciseVersion: 'v1' }));
      await attempts.insert(attempt('v1b', { exerciseId: 'ex-a', exerciseVersion: 'v1' }));
      await attempts.insert(attempt('v2', { exerciseId: 'ex-b', exerciseVersion: 'v2' }));
      await attempts.insert(attempt('vnull', { exerciseId: 'ex-old' }));
      await invites.insert(invite('inv_v1', { exerciseId: 'ex-a', exerciseVersion: 'v1' }));
      await invites.insert(invite('inv_v3', { exerciseId: 'ex-c', exerciseVersion: 'v3' }));
      await invites.insert(invite('inv_a2', { exerciseId: 'ex-a', exerciseVersion: 'v2' }));
      await invites.insert(invite('inv_null', { exerciseId: 'ex-old2' }));
      const inUse = await attempts.exerciseVersionsInUse();
      for (const row of inUse) expect(Object.keys(row).sort()).toEqual(['exerciseId', 'version']);
      const key = (r: { exerciseId: string; version: string }) => `${r.exerciseId}@${r.version}`;
      expect(inUse.map(key).sort()).toEqual(['ex-a@v1', 'ex-a@v2', 'ex-b@v2', 'ex-c@v3']);
      expect(inUse).toHaveLength(4);
    });

    it('keeps events in order with their detail as JSON, and picks events of given kinds', async () => {
      await attempts.insert(attempt('ev'));
      await attempts.insert(attempt('ev_other'));
      const before = Date.now();
      await attempts.addEvent('ev', 'started');
      await attempts.addEvent('ev', 'command', { cmd: 'ls -la', exit: 0, tags: ['a', 'b'], nested: { ok: true } });
      await attempts.addEvent('ev_other', 'command', { cmd: 'rm -rf /' });
      await attempts.addEvent('ev', 'hint', 2);
      await attempts.addEvent('ev', 'command', { cmd: 'pwd', note: 'naïve "quote"' });
      await attempts.addEvent('ev', 'paste', null);
      const after = Date.now();

      const events = await attempts.events('ev');
      expect(events.map(({ kind, detail }) => ({ kind, detail }))).toEqual([
        { kind: 'started', detail: null },
        { kind: 'command', detail: { cmd: 'ls -la', exit: 0, tags: ['a', 'b'], nested: { ok: true } } },
        { kind: 'hint', detail: 2 },
        { kind: 'command', detail: { cmd: 'pwd', note: 'naïve "quote"' } },
        { kind: 'paste', detail: null },
      ]);
      for (const e of events) {
        expect(e.at).toBeGreaterThanOrEqual(before);
        expect(e.at).toBeLessThanOrEqual(after);
      }
      expect(await attempts.eventsOfKinds('ev', ['command', 'hint'])).toEqual(events.filter((e) => e.kind === 'command' || e.kind === 'hint'));
      expect(await attempts.eventsOfKinds('ev', ['paste'])).toEqual([events[4]]);
      expect(await attempts.eventsOfKinds('ev', [])).toEqual([]);
      expect(await attempts.eventsOfKinds('ev', ['nothing'])).toEqual([]);
      expect(await attempts.events('ev_none')).toEqual([]);
    });
  });

  describe('GradingRepo', () => {
    let db: Database;
    let attempts: AttemptsRepo;
    let grading: GradingRepo;
    beforeAll(async () => {
      db = await kind.open();
      attempts = new AttemptsRepo(db);
      grading = new GradingRepo(db);
      const named = ['g_insert', 'g_final', 'g_recount', 'g_other', 'g_order', 'g_empty', 'g_verdicts', 'g_legacy', 'g_broken', 'g_first'];
      for (const id of [...named, 'g_none', 'g_once', 'g_twice', 'g_failed_run']) {
        await attempts.insert(attempt(id, { state: 'submitted' }));
      }
    }, 120_000);

    const confirmation = (attemptId: string, checkId: string, verdict: 'pass' | 'fail', gradingRunId: number, confirmedAt = T0) => ({
      attemptId,
      checkId,
      verdict,
      comment: `reviewer says ${verdict}`,
      graderVerdict: 'pass' as const,
      gradingRunId,
      confirmedBy: 'u_alice',
      confirmedAt,
    });

    it('stores a run and returns its id; the score is counted here, advisory checks never on a progress run', async () => {
      const results = [check('a', 3, 'pass'), check('b', 2, 'fail'), check('c', 5, 'error'), check('adv', 4, 'pass', true)];
      const first = await grading.insert(
        run('g_insert', 'progress', T0 + 10, results, {
          score: 999,
          maxScore: 999,
          cleanroom: [{ id: 'pipeline', exitCode: 1, durationMs: 2500 }],
          source: 'snapshot',
          requestedBy: 'u_alice',
        }),
      );
      expect(first.id).toEqual(expect.any(Number));
      expect(first).toMatchObject({ score: 3, maxScore: 5 });
      const second = await grading.insert(run('g_insert', 'progress', T0 + 20, [], { error: 'engine down', exerciseVersion: null, source: null }));
      expect(second.id).toBeGreaterThan(first.id);
      expect(second).toMatchObject({ score: 0, maxScore: 0 });
      expect(await grading.list('g_insert')).toEqual([first, second]);
    });

    it("counts a final run's advisory checks with the attempt's confirmations (the reviewer's verdict, not the grader's)", async () => {
      await grading.confirmations.put(confirmation('g_final', 'adv_fail', 'pass', 0));
      await grading.confirmations.put(confirmation('g_final', 'adv_pass', 'fail', 0));
      const results = [
        check('a', 3, 'pass'),
        check('b', 2, 'fail'),
        check('adv_fail', 4, 'fail', true), // confirmed pass: 4 of 4
        check('adv_pass', 6, 'pass', true), // overridden to fail: 0 of 6
        check('adv_open', 5, 'pass', true), // not confirmed: pending, counted in neither
      ];
      expect(await grading.insert(run('g_final', 'final', T0 + 10, results))).toMatchObject({ score: 7, maxScore: 15 });
      // A progress run of the same attempt counts no advisory check, confirmed or not.
      expect(await grading.insert(run('g_final', 'progress', T0 + 20, results))).toMatchObject({ score: 3, maxScore: 5 });
    });

    it("confirm and withdraw count the attempt's final runs again (not its progress runs, not other attempts)", async () => {
      const results = [check('a', 3, 'pass'), check('adv', 4, 'fail', true)];
      const progress = await grading.insert(run('g_recount', 'progress', T0 + 5, results));
      const final1 = await grading.insert(run('g_recount', 'final', T0 + 10, results));
      // (A second final run is a regrade.)
      const final2 = await grading.insert(run('g_recount', 'final', T0 + 20, [check('a', 3, 'fail'), check('adv', 4, 'pass', true)], { requestedBy: 'u_alice' }));
      const other = await grading.insert(run('g_other', 'final', T0 + 10, results));
      const scores = async () => (await grading.list('g_recount')).map((r) => [r.kind, r.score, r.maxScore]);
      expect(await scores()).toEqual([
        ['progress', 3, 3],
        ['final', 3, 3],
        ['final', 0, 3],
      ]);

      const pass = confirmation('g_recount', 'adv', 'pass', final2.id);
      await grading.confirm(pass);
      expect(await grading.confirmations.get('g_recount', 'adv')).toEqual(pass);
      expect(await scores()).toEqual([
        ['progress', 3, 3],
        ['final', 7, 7],
        ['final', 4, 7],
      ]);

      // Replacing the confirmation counts again with the new verdict.
      const fail = confirmation('g_recount', 'adv', 'fail', final2.id, T0 + 1);
      await grading.confirm(fail);
      expect(await grading.confirmations.list('g_recount')).toEqual([fail]);
      expect(await grading.confirmations.verdicts('g_recount')).toEqual({ adv: 'fail' });
      expect(await scores()).toEqual([
        ['progress', 3, 3],
        ['final', 3, 7],
        ['final', 0, 7],
      ]);

      expect(await grading.withdraw('g_recount', 'adv')).toEqual(fail);
      expect(await grading.confirmations.get('g_recount', 'adv')).toBeUndefined();
      expect(await scores()).toEqual([
        ['progress', 3, 3],
        ['final', 3, 3],
        ['final', 0, 3],
      ]);
      expect(await grading.withdraw('g_recount', 'adv')).toBeUndefined();

      expect((await grading.list('g_other'))[0]).toEqual(other);
      expect((await grading.list('g_recount'))[0]).toEqual(progress);
      expect((await grading.final('g_recount'))!.id).toBe(final2.id);
      expect(final1.id).toBeLessThan(final2.id);
    });

    it('keeps confirmations per attempt and check, listed by check id', async () => {
      const b = confirmation('g_other', 'b-check', 'pass', 1);
      const a = confirmation('g_other', 'a-check', 'fail', 1);
      await grading.confirmations.put(b);
      await grading.confirmations.put(a);
      expect(await grading.confirmations.list('g_other')).toEqual([a, b]);
      expect(await grading.confirmations.verdicts('g_other')).toEqual({ 'a-check': 'fail', 'b-check': 'pass' });
      expect(await grading.confirmations.delete('g_other', 'a-check')).toBe(true);
      expect(await grading.confirmations.delete('g_other', 'a-check')).toBe(false);
      expect(await grading.confirmations.list('g_other')).toEqual([b]);
      expect(await grading.confirmations.list('g_empty')).toEqual([]);
    });

    it('lists runs in order, the final ones oldest first, and the current final is the latest', async () => {
      const p1 = await grading.insert(run('g_order', 'progress', T0 + 1, [check('a', 1, 'fail')]));
      const f1 = await grading.insert(run('g_order', 'final', T0 + 2, [check('a', 1, 'pass')]));
      const p2 = await grading.insert(run('g_order', 'progress', T0 + 3, [check('a', 1, 'pass')]));
      const f2 = await grading.insert(run('g_order', 'final', T0 + 4, [check('a', 1, 'fail')], { source: 'snapshot', requestedBy: 'u_alice' }));
      expect((await grading.list('g_order')).map((r) => r.id)).toEqual([p1, f1, p2, f2].map((r) => r.id));
      expect(await grading.list('g_order')).toEqual([p1, f1, p2, f2]);
      expect(await grading.finals('g_order')).toEqual([f1, f2]);
      expect(await grading.final('g_order')).toEqual(f2);

      await grading.insert(run('g_empty', 'progress', T0, [check('a', 1, 'pass')]));
      expect(await grading.finals('g_empty')).toEqual([]);
      expect(await grading.final('g_empty')).toBeUndefined();
      expect(await grading.list('g_missing')).toEqual([]);
    });

    const verdictsOf = async (attemptId: string) => (await grading.finalVerdictsFor([attemptId])).get(attemptId);

    it("gives the current final grading's checks (id, points, verdict, advisory) in order", async () => {
      expect(await verdictsOf('g_verdicts')).toBeUndefined();
      await grading.insert(run('g_verdicts', 'final', T0 + 1, [check('old', 1, 'pass')], { exerciseVersion: 'v0' }));
      // Twelve checks, so that an order by text ("10" before "2") would show.
      const twelve = Array.from({ length: 12 }, (_, i) =>
        check(`check-${String.fromCharCode(108 - i)}`, i + 1, (['pass', 'fail', 'error'] as const)[i % 3]!, i % 4 === 1),
      );
      await grading.insert(run('g_verdicts', 'final', T0 + 2, twelve, { exerciseVersion: 'v2', requestedBy: 'u_alice' }));
      // A progress run after it changes nothing.
      await grading.insert(run('g_verdicts', 'progress', T0 + 3, [check('later', 9, 'pass')]));
      expect(await verdictsOf('g_verdicts')).toEqual({
        exerciseVersion: 'v2',
        error: null,
        checks: twelve.map(({ id, points, verdict, advisory }) => ({ id, points, verdict, advisory })),
      });

      // Gradings from before advisory checks have no flag: none was advisory.
      const legacy = [
        { ...check('first', 2, 'pass'), advisory: undefined },
        { ...check('second', 3, 'fail'), advisory: undefined },
      ] as unknown as CheckResult[];
      await grading.insert(run('g_legacy', 'final', T0, legacy, { exerciseVersion: null }));
      expect(await verdictsOf('g_legacy')).toEqual({
        exerciseVersion: null,
        error: null,
        checks: [
          { id: 'first', points: 2, verdict: 'pass', advisory: false },
          { id: 'second', points: 3, verdict: 'fail', advisory: false },
        ],
      });
      expect((await grading.final('g_legacy'))!.results.map((r) => r.advisory)).toEqual([false, false]);

      await grading.insert(run('g_broken', 'final', T0, [], { error: 'grader crashed' }));
      expect(await verdictsOf('g_broken')).toEqual({ exerciseVersion: 'v1', error: 'grader crashed', checks: [] });
    });

    it('gives the current final grading of many attempts in one read: the latest of each, none for those without', async () => {
      const none = 'g_none';
      const once = 'g_once';
      const twice = 'g_twice';
      await grading.insert(run(none, 'progress', T0 + 1, [check('a', 1, 'pass')]));
      await grading.insert(run(twice, 'final', T0 + 2, [check('a', 1, 'fail')], { exerciseVersion: 'v1' }));
      await grading.insert(run(once, 'final', T0 + 3, [check('b', 2, 'pass'), check('adv', 3, 'fail', true)], { exerciseVersion: 'v7' }));
      // A regrade: a second final grading, asked for by a staff member, and a progress run after it that changes nothing.
      await grading.insert(
        run(twice, 'final', T0 + 4, [check('a', 1, 'pass')], { exerciseVersion: 'v2', requestedBy: 'u_alice', source: 'snapshot' }),
      );
      await grading.insert(run(twice, 'progress', T0 + 5, [check('later', 9, 'error')]));

      const finals = await grading.finalVerdictsFor([none, once, twice, 'g_missing']);
      expect(finals).toEqual(
        new Map([
          [
            once,
            {
              exerciseVersion: 'v7',
              error: null,
              checks: [
                { id: 'b', points: 2, verdict: 'pass', advisory: false },
                { id: 'adv', points: 3, verdict: 'fail', advisory: true },
              ],
            },
          ],
          [twice, { exerciseVersion: 'v2', error: null, checks: [{ id: 'a', points: 1, verdict: 'pass', advisory: false }] }],
        ]),
      );
      // The same as each attempt read on its own, and nothing asked, nothing read.
      for (const id of [none, once, twice]) expect(await verdictsOf(id)).toEqual(finals.get(id));
      expect((await grading.final(twice))!.requestedBy).toBe('u_alice');
      expect(await grading.finalVerdictsFor([])).toEqual(new Map());

      // The grade of each (as it counts, with its maximum and error), the same as each attempt read on its own, read
      // in batches: attempts past the first batches are found too.
      await grading.insert(run('g_failed_run', 'final', T0 + 6, [], { error: 'engine gone' }));
      const many = [...Array.from({ length: 1200 }, (_, i) => `g_nothing_${i}`), none, once, twice, 'g_failed_run'];
      many.splice(600, 0, many.splice(many.indexOf(once), 1)[0]!);
      const scores = await grading.finalScoresFor(many);
      expect([...scores.keys()].sort()).toEqual(['g_failed_run', once, twice].sort());
      for (const id of [once, twice, 'g_failed_run']) {
        const final = (await grading.final(id))!;
        expect(scores.get(id)).toEqual({ score: final.score, maxScore: final.maxScore, error: final.error });
      }
      expect(scores.get(twice)).toEqual({ score: 1, maxScore: 1, error: null });
      expect(scores.get('g_failed_run')!.error).toBe('engine gone');
      expect(await grading.finalScoresFor([])).toEqual(new Map());
    });

    it("gives many attempts' confirmations in one read, by attempt and check; none for attempts without", async () => {
      await grading.confirmations.put(confirmation('g_twice', 'adv', 'pass', 1));
      await grading.confirmations.put(confirmation('g_twice', 'other', 'fail', 1));
      await grading.confirmations.put(confirmation('g_once', 'adv', 'fail', 1));
      expect(await grading.confirmations.verdictsFor(['g_none', 'g_once', 'g_twice'])).toEqual(
        new Map([
          ['g_once', { adv: 'fail' }],
          ['g_twice', { adv: 'pass', other: 'fail' }],
        ]),
      );
      expect(await grading.confirmations.verdicts('g_none')).toEqual({});
      expect(await grading.confirmations.verdictsFor([])).toEqual(new Map());
    });

    it('says when each check first passed, over every run', async () => {
      expect(await grading.firstPasses('g_first')).toEqual({});
      await grading.insert(run('g_first', 'progress', T0 + 10, [check('a', 1, 'pass'), check('b', 1, 'fail'), check('c', 1, 'error')]));
      await grading.insert(run('g_first', 'progress', T0 + 20, [check('a', 1, 'pass'), check('b', 1, 'pass'), check('c', 1, 'fail')]));
      await grading.insert(run('g_first', 'final', T0 + 30, [check('a', 1, 'fail'), check('b', 1, 'pass'), check('c', 1, 'pass'), check('d', 1, 'fail')]));
      expect(await grading.firstPasses('g_first')).toEqual({ a: T0 + 10, b: T0 + 20, c: T0 + 30 });
    });
  });

  describe('InvitesRepo', () => {
    let db: Database;
    let attempts: AttemptsRepo;
    let invites: InvitesRepo;
    beforeAll(async () => {
      db = await kind.open();
      attempts = new AttemptsRepo(db);
      invites = new InvitesRepo(db);
      await addUsers(db, 'u_alice', 'u_bob');
    }, 120_000);

    it('reads back every field it stored, by id, by token hash and by attempt', async () => {
      await attempts.insert(attempt('att_full', { mode: 'interview', inviteId: 'inv_full' }));
      const full: Invite = {
        id: 'inv_full',
        tokenHash: 'hash-full',
        exerciseId: 'ex-git',
        candidateName: 'Grace Hopper',
        candidateEmail: 'grace@example.test',
        timeLimitSeconds: 5400,
        showFeedback: false,
        note: 'second round; "senior"',
        createdBy: 'u_bob',
        createdAt: T0 + 1,
        expiresAt: T0 + 3 * DAY,
        revokedAt: null,
        attemptId: 'att_full',
        claimedAt: T0 + 60_000,
        exerciseVersion: 'v9',
        fileUpload: true,
        fileDownload: false,
      };
      expect(await invites.insert(full)).toEqual(full);
      expect(await invites.get('inv_full')).toEqual(full);
      expect(await invites.byTokenHash('hash-full')).toEqual(full);
      expect(await invites.byAttempt('att_full')).toEqual(full);

      const bare = await invites.insert(invite('inv_bare', { revokedAt: T0 + 5 }));
      expect(bare).toMatchObject({ exerciseVersion: null, fileUpload: null, fileDownload: null, note: null, attemptId: null, claimedAt: null });
      expect(await invites.get('inv_bare')).toEqual(bare);

      expect(await invites.get('inv_none')).toBeUndefined();
      expect(await invites.byTokenHash('hash-none')).toBeUndefined();
      expect(await invites.byAttempt('att_none')).toBeUndefined();
    });

    it('lists invites newest first, of every exercise or of one', async () => {
      await db.run('DELETE FROM invites');
      await invites.insert(invite('l1', { exerciseId: 'ex-a', createdAt: T0 }));
      await invites.insert(invite('l2', { exerciseId: 'ex-b', createdAt: T0 + 2 }));
      await invites.insert(invite('l3', { exerciseId: 'ex-a', createdAt: T0 + 1 }));
      await invites.insert(invite('l4', { exerciseId: 'ex-a', createdAt: T0 + 3 }));
      expect(ids(await invites.list())).toEqual(['l4', 'l2', 'l3', 'l1']);
      expect(ids(await invites.list({}))).toEqual(['l4', 'l2', 'l3', 'l1']);
      expect(ids(await invites.list({ exerciseId: 'ex-a' }))).toEqual(['l4', 'l3', 'l1']);
      expect(await invites.list({ exerciseId: 'ex-none' })).toEqual([]);
    });

    it("lists each invite with its attempt's state and end reason, read with it; none before the attempt exists", async () => {
      await db.run('DELETE FROM invites');
      await attempts.insert(attempt('att_l_run', { mode: 'interview', state: 'running', inviteId: 'l_run' }));
      await attempts.insert(attempt('att_l_end', { mode: 'interview', state: 'archived', endReason: 'revoked', inviteId: 'l_end' }));
      await invites.insert(invite('l_run', { attemptId: 'att_l_run', createdAt: T0 + 2 }));
      await invites.insert(invite('l_end', { attemptId: 'att_l_end', createdAt: T0 + 1, revokedAt: T0 + 5 }));
      await invites.insert(invite('l_new', { createdAt: T0 }));
      const listed = await invites.list();
      expect(listed.map((i) => [i.id, i.attempt])).toEqual([
        ['l_run', { state: 'running', endReason: null }],
        ['l_end', { state: 'archived', endReason: 'revoked' }],
        ['l_new', null],
      ]);
      // Otherwise each is the invite as read on its own.
      for (const each of listed) expect({ ...each, attempt: undefined }).toEqual(await invites.get(each.id));
    });

    it('claims a token exactly once, also when two claims arrive at the same time', async () => {
      for (let i = 0; i < 5; i++) {
        const id = `race${i}`;
        await invites.insert(invite(id));
        const claims = await Promise.all([invites.claim(id, `ih_${id}`, T0 + 1), invites.claim(id, `ih_${id}`, T0 + 2)]);
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect((await invites.get(id))!.claimedAt).toBe(claims[0] ? T0 + 1 : T0 + 2);
        expect(await invites.claim(id, `ih_${id}`, T0 + 3)).toBe(false);
      }
      await invites.insert(invite('wrong'));
      expect(await invites.claim('wrong', 'ih_other', T0)).toBe(false);
      expect(await invites.claim('missing', 'ih_missing', T0)).toBe(false);
      expect((await invites.get('wrong'))!.claimedAt).toBeNull();
    });

    it('reissue replaces the token, unclaimed: the old one stops working, the new one claims once', async () => {
      await invites.insert(invite('re'));
      expect(await invites.claim('re', 'ih_re', T0 + 1)).toBe(true);
      expect(await invites.reissue('re', 'ih_re2')).toBe(true);
      expect(await invites.get('re')).toMatchObject({ tokenHash: 'ih_re2', claimedAt: null });
      expect(await invites.byTokenHash('ih_re')).toBeUndefined();
      expect((await invites.byTokenHash('ih_re2'))!.id).toBe('re');
      expect(await invites.claim('re', 'ih_re', T0 + 2)).toBe(false);
      expect(await invites.claim('re', 'ih_re2', T0 + 3)).toBe(true);
      expect(await invites.claim('re', 'ih_re2', T0 + 4)).toBe(false);
      expect((await invites.get('re'))!.claimedAt).toBe(T0 + 3);
      expect(await invites.reissue('missing', 'ih_x')).toBe(false);
    });

    it('revokes once; a revoked invite can be neither claimed nor reissued', async () => {
      await invites.insert(invite('rv'));
      expect(await invites.revoke('rv', T0 + 1)).toBe(true);
      expect(await invites.revoke('rv', T0 + 2)).toBe(false);
      expect((await invites.get('rv'))!.revokedAt).toBe(T0 + 1);
      expect(await invites.claim('rv', 'ih_rv', T0 + 3)).toBe(false);
      expect(await invites.reissue('rv', 'ih_rv2')).toBe(false);
      expect(await invites.get('rv')).toMatchObject({ tokenHash: 'ih_rv', claimedAt: null, revokedAt: T0 + 1 });
      expect(await invites.revoke('missing', T0)).toBe(false);
    });

    it('adds time (two extensions at once both count) and sets the attempt', async () => {
      await invites.insert(invite('set'));
      await invites.insert(invite('untouched'));
      await invites.addTime('set', 1800);
      expect((await invites.get('set'))!.timeLimitSeconds).toBe(5400);
      await Promise.all([invites.addTime('set', 600), invites.addTime('set', 1200)]);
      await attempts.insert(attempt('att_set', { mode: 'interview', inviteId: 'set' }));
      await invites.setAttempt('set', 'att_set');
      expect(await invites.get('set')).toEqual({ ...(await invites.get('untouched'))!, id: 'set', tokenHash: 'ih_set', timeLimitSeconds: 7200, attemptId: 'att_set' });
      expect((await invites.byAttempt('att_set'))!.id).toBe('set');
      expect((await invites.get('untouched'))!).toMatchObject({ timeLimitSeconds: 3600, attemptId: null });
    });
  });

  describe('ReviewsRepo', () => {
    let db: Database;
    let reviews: ReviewsRepo;
    beforeAll(async () => {
      db = await kind.open();
      reviews = new ReviewsRepo(db);
      await addUsers(db, 'u_alice', 'u_bob');
      await new AttemptsRepo(db).insert(attempt('r1', { mode: 'interview', state: 'submitted' }));
      await new AttemptsRepo(db).insert(attempt('r2', { mode: 'interview', state: 'submitted' }));
      await new AttemptsRepo(db).insert(attempt('r3', { mode: 'interview', state: 'submitted' }));
    }, 120_000);

    it("inserts a reviewer's review, then updates it: createdAt kept, updatedAt moves", async () => {
      const before = Date.now();
      const first = await reviews.upsert({
        attemptId: 'r1',
        reviewerId: 'u_alice',
        ratings: { linux: { rating: 3, notes: 'solid' }, debugging: { rating: null, notes: '' } },
        recommendation: null,
        summary: '',
      });
      expect(first).toEqual({
        attemptId: 'r1',
        reviewerId: 'u_alice',
        ratings: { linux: { rating: 3, notes: 'solid' }, debugging: { rating: null, notes: '' } },
        recommendation: null,
        summary: '',
        createdAt: first.createdAt,
        updatedAt: first.createdAt,
      });
      expect(first.createdAt).toBeGreaterThanOrEqual(before);

      await sleep(5);
      const second = await reviews.upsert({
        attemptId: 'r1',
        reviewerId: 'u_alice',
        ratings: { linux: { rating: 4, notes: 'strong, "quick"' } },
        recommendation: 'strong-yes',
        summary: 'Found the fault in minutes.',
      });
      expect(second).toEqual({
        attemptId: 'r1',
        reviewerId: 'u_alice',
        ratings: { linux: { rating: 4, notes: 'strong, "quick"' } },
        recommendation: 'strong-yes',
        summary: 'Found the fault in minutes.',
        createdAt: first.createdAt,
        updatedAt: second.updatedAt,
      });
      expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
      expect(await reviews.list('r1')).toEqual([second]);
    });

    it("lists an attempt's reviews, one per reviewer, oldest first", async () => {
      await sleep(2);
      const bob = await reviews.upsert({ attemptId: 'r1', reviewerId: 'u_bob', ratings: {}, recommendation: 'no', summary: 'Struggled.' });
      const listed = await reviews.list('r1');
      expect(listed.map((r) => r.reviewerId)).toEqual(['u_alice', 'u_bob']);
      expect(listed[1]).toEqual(bob);
      expect(await reviews.list('r_none')).toEqual([]);
    });

    it("lists many attempts' reviews in one read, by attempt, each attempt's oldest first; none for attempts without", async () => {
      const ratings = { linux: { rating: 3 as const, notes: 'Fine.' } };
      const other = await reviews.upsert({ attemptId: 'r2', reviewerId: 'u_bob', ratings, recommendation: 'yes', summary: '' });
      const byAttempt = await reviews.listFor(['r1', 'r2', 'r3']);
      expect([...byAttempt.keys()].sort()).toEqual(['r1', 'r2']);
      expect(byAttempt.get('r1')).toEqual(await reviews.list('r1'));
      expect(byAttempt.get('r1')!.map((r) => r.reviewerId)).toEqual(['u_alice', 'u_bob']);
      expect(byAttempt.get('r2')).toEqual([other]);
      expect(await reviews.listFor([])).toEqual(new Map());
    });
  });

  describe('ReviewsRepo.listAttempts', () => {
    let db: Database;
    let reviews: ReviewsRepo;

    // The dashboard's attempts. Scores are of the latest final grading, in percent: i1 75, i2 33.3, p1 100 (after a
    // regrade from 0); i3 has only a progress run, p2 a final with nothing counted (no percent), i4 and p3 none.
    const seeds = [
      { id: 'i1', mode: 'interview', state: 'archived', exerciseId: 'ex-linux', candidate: 'alice Smith', by: 'u_alice', createdAt: 1, startedAt: 10, endedAt: 100 },
      { id: 'i2', mode: 'interview', state: 'submitted', exerciseId: 'ex-git', candidate: 'Bob Jones', by: 'u_bob', createdAt: 2, startedAt: 20, endedAt: 50 },
      { id: 'i3', mode: 'interview', state: 'running', exerciseId: 'ex-linux', candidate: 'carol White', by: 'u_alice', createdAt: 3, startedAt: 5, endedAt: null },
      { id: 'i4', mode: 'interview', state: 'created', exerciseId: 'ex-k8s', candidate: 'ADAM Ng', by: 'u_bob', createdAt: 4, startedAt: null, endedAt: null },
      { id: 'p1', mode: 'practice', state: 'archived', exerciseId: 'ex-git', candidate: null, by: null, createdAt: 5, startedAt: 6, endedAt: 200 },
      { id: 'p2', mode: 'practice', state: 'expired', exerciseId: 'ex-linux', candidate: null, by: null, createdAt: 6, startedAt: 7, endedAt: 150 },
      { id: 'p3', mode: 'practice', state: 'failed', exerciseId: 'ex-k8s', candidate: null, by: null, createdAt: 7, startedAt: null, endedAt: null },
    ] as const;

    beforeAll(async () => {
      db = await kind.open();
      reviews = new ReviewsRepo(db);
      const attempts = new AttemptsRepo(db);
      const invites = new InvitesRepo(db);
      const grading = new GradingRepo(db);
      await addUsers(db, 'u_alice', 'u_bob');
      const at = (t: number | null) => (t === null ? null : T0 + t);
      for (const s of seeds) {
        await attempts.insert(
          attempt(s.id, {
            mode: s.mode,
            state: s.state,
            exerciseId: s.exerciseId,
            createdAt: at(s.createdAt)!,
            startedAt: at(s.startedAt),
            deadline: s.startedAt === null ? null : at(s.startedAt + 3600),
            endedAt: at(s.endedAt),
            endReason: s.endedAt === null ? null : 'submitted',
            inviteId: s.candidate === null ? null : `inv_${s.id}`,
            exerciseVersion: `v_${s.id}`,
          }),
        );
        if (s.candidate !== null) {
          await invites.insert(invite(`inv_${s.id}`, { candidateName: s.candidate, createdBy: s.by!, attemptId: s.id, exerciseId: s.exerciseId }));
        }
      }
      await grading.insert(run('i1', 'final', T0 + 100, [check('a', 3, 'pass'), check('b', 1, 'fail'), check('adv', 5, 'pass', true)]));
      await grading.insert(run('i2', 'final', T0 + 50, [check('a', 1, 'pass'), check('b', 2, 'fail')]));
      await grading.insert(run('i3', 'progress', T0 + 30, [check('a', 4, 'pass')]));
      await grading.insert(run('p1', 'final', T0 + 200, [check('a', 2, 'fail')]));
      await grading.insert(run('p1', 'final', T0 + 210, [check('a', 2, 'pass')], { requestedBy: 'u_alice' }));
      await grading.insert(run('p2', 'final', T0 + 150, [check('a', 2, 'error')]));
      await reviews.upsert({ attemptId: 'i1', reviewerId: 'u_alice', ratings: {}, recommendation: 'yes', summary: '' });
      await reviews.upsert({ attemptId: 'i1', reviewerId: 'u_bob', ratings: {}, recommendation: 'no', summary: '' });
      await reviews.upsert({ attemptId: 'i2', reviewerId: 'u_bob', ratings: {}, recommendation: null, summary: '' });
    }, 120_000);

    const query = (over: Partial<AttemptQuery> = {}): AttemptQuery => ({ sort: 'createdAt', order: 'asc', page: 1, pageSize: 50, ...over });
    const listed = async (over: Partial<AttemptQuery> = {}) => {
      const { rows, total } = await reviews.listAttempts(query(over));
      return { ids: ids(rows), total };
    };

    it('gives each attempt with its candidate, interviewer, exercise version, latest final score and number of reviews', async () => {
      const { rows, total } = await reviews.listAttempts(query());
      expect(total).toBe(7);
      expect(ids(rows)).toEqual(['i1', 'i2', 'i3', 'i4', 'p1', 'p2', 'p3']);
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId['i1']).toEqual({
        id: 'i1',
        exerciseId: 'ex-linux',
        mode: 'interview',
        state: 'archived',
        endReason: 'submitted',
        candidateName: 'alice Smith',
        candidateEmail: 'ada@example.test',
        interviewerId: 'u_alice',
        createdAt: T0 + 1,
        startedAt: T0 + 10,
        deadline: T0 + 3610,
        endedAt: T0 + 100,
        exerciseVersion: 'v_i1',
        score: 3,
        maxScore: 4,
        reviews: 2,
      });
      expect(byId['i2']).toMatchObject({ score: 1, maxScore: 3, reviews: 1, interviewerId: 'u_bob' });
      expect(byId['i3']).toMatchObject({ score: null, maxScore: null, reviews: 0, endReason: null, endedAt: null });
      expect(byId['i4']).toMatchObject({ startedAt: null, deadline: null, candidateName: 'ADAM Ng' });
      expect(byId['p1']).toMatchObject({ candidateName: null, candidateEmail: null, interviewerId: null, score: 2, maxScore: 2, reviews: 0 });
      expect(byId['p2']).toMatchObject({ score: 0, maxScore: 0 });
      expect(byId['p3']).toMatchObject({ score: null, maxScore: null });
    });

    it('pages, with the total of all matching attempts on every page', async () => {
      expect(await listed({ pageSize: 3, page: 1 })).toEqual({ ids: ['i1', 'i2', 'i3'], total: 7 });
      expect(await listed({ pageSize: 3, page: 2 })).toEqual({ ids: ['i4', 'p1', 'p2'], total: 7 });
      expect(await listed({ pageSize: 3, page: 3 })).toEqual({ ids: ['p3'], total: 7 });
      expect(await listed({ pageSize: 3, page: 4 })).toEqual({ ids: [], total: 7 });
      expect(await listed({ mode: 'interview', pageSize: 3, page: 2, order: 'desc' })).toEqual({ ids: ['i1'], total: 4 });
    });

    it('filters by mode, state, exercise and interviewer', async () => {
      expect(await listed({ mode: 'interview' })).toEqual({ ids: ['i1', 'i2', 'i3', 'i4'], total: 4 });
      expect(await listed({ mode: 'practice' })).toEqual({ ids: ['p1', 'p2', 'p3'], total: 3 });
      expect(await listed({ state: 'archived' })).toEqual({ ids: ['i1', 'p1'], total: 2 });
      expect(await listed({ state: 'failed' })).toEqual({ ids: ['p3'], total: 1 });
      expect(await listed({ exerciseId: 'ex-linux' })).toEqual({ ids: ['i1', 'i3', 'p2'], total: 3 });
      expect(await listed({ interviewer: 'u_alice' })).toEqual({ ids: ['i1', 'i3'], total: 2 });
      expect(await listed({ interviewer: 'u_bob' })).toEqual({ ids: ['i2', 'i4'], total: 2 });
      expect(await listed({ mode: 'interview', exerciseId: 'ex-linux', state: 'running' })).toEqual({ ids: ['i3'], total: 1 });
      expect(await listed({ exerciseId: 'ex-none' })).toEqual({ ids: [], total: 0 });
    });

    it('filters by score in percent of the maximum, bounds included, attempts without one left out', async () => {
      expect(await listed({ minScore: 0 })).toEqual({ ids: ['i1', 'i2', 'p1'], total: 3 });
      expect(await listed({ minScore: 50 })).toEqual({ ids: ['i1', 'p1'], total: 2 });
      expect(await listed({ minScore: 75 })).toEqual({ ids: ['i1', 'p1'], total: 2 });
      expect(await listed({ minScore: 75.5 })).toEqual({ ids: ['p1'], total: 1 });
      expect(await listed({ maxScore: 75 })).toEqual({ ids: ['i1', 'i2'], total: 2 });
      // 1 of 3 is 33.3 %, not 33 (no integer division).
      expect(await listed({ maxScore: 33 })).toEqual({ ids: [], total: 0 });
      expect(await listed({ maxScore: 34 })).toEqual({ ids: ['i2'], total: 1 });
      expect(await listed({ minScore: 33.3, maxScore: 33.4 })).toEqual({ ids: ['i2'], total: 1 });
      expect(await listed({ minScore: 30, maxScore: 80, mode: 'interview' })).toEqual({ ids: ['i1', 'i2'], total: 2 });
      expect(await listed({ minScore: 100, maxScore: 100 })).toEqual({ ids: ['p1'], total: 1 });
    });

    // Each sort in both orders; attempts without the value come last either way (ties: by id in the same order).
    const sorts: [AttemptQuery['sort'], string[], string[]][] = [
      ['createdAt', ['i1', 'i2', 'i3', 'i4', 'p1', 'p2', 'p3'], ['p3', 'p2', 'p1', 'i4', 'i3', 'i2', 'i1']],
      ['startedAt', ['i3', 'p1', 'p2', 'i1', 'i2', 'i4', 'p3'], ['i2', 'i1', 'p2', 'p1', 'i3', 'p3', 'i4']],
      ['endedAt', ['i2', 'i1', 'p2', 'p1', 'i3', 'i4', 'p3'], ['p1', 'p2', 'i1', 'i2', 'p3', 'i4', 'i3']],
      ['score', ['i2', 'i1', 'p1', 'i3', 'i4', 'p2', 'p3'], ['p1', 'i1', 'i2', 'p3', 'p2', 'i4', 'i3']],
      // Case-insensitively: ADAM, alice, Bob, carol (not ADAM, Bob, alice, carol).
      ['candidate', ['i4', 'i1', 'i2', 'i3', 'p1', 'p2', 'p3'], ['i3', 'i2', 'i1', 'i4', 'p3', 'p2', 'p1']],
      ['exercise', ['i2', 'p1', 'i4', 'p3', 'i1', 'i3', 'p2'], ['p2', 'i3', 'i1', 'p3', 'i4', 'p1', 'i2']],
    ];
    it.each(sorts)('sorts by %s in both orders, NULLs last', async (sort, asc, desc) => {
      expect(await listed({ sort, order: 'asc' })).toEqual({ ids: asc, total: 7 });
      expect(await listed({ sort, order: 'desc' })).toEqual({ ids: desc, total: 7 });
    });

    it('sorts by candidate case-insensitively beyond ASCII too (Élodie after élise)', async () => {
      const attempts = new AttemptsRepo(db);
      const invites = new InvitesRepo(db);
      const names = { u1: 'Élodie Martin', u2: 'élise Blanc', u3: 'émile Roux' };
      try {
        for (const [id, name] of Object.entries(names)) {
          await attempts.insert(attempt(id, { mode: 'interview', exerciseId: 'ex-intl', inviteId: `inv_${id}` }));
          await invites.insert(invite(`inv_${id}`, { candidateName: name, attemptId: id }));
        }
        // By the lower-cased name: élise, élodie, émile (case folded, 'É' is not set apart from 'é').
        expect(await listed({ exerciseId: 'ex-intl', sort: 'candidate', order: 'asc' })).toEqual({ ids: ['u2', 'u1', 'u3'], total: 3 });
        expect(await listed({ exerciseId: 'ex-intl', sort: 'candidate', order: 'desc' })).toEqual({ ids: ['u3', 'u1', 'u2'], total: 3 });
      } finally {
        for (const id of Object.keys(names)) await attempts.delete(id);
      }
    });
  });
});
