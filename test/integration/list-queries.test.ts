// The staff lists read in a fixed number of queries, whatever their length, on SQLite and on a real PostgreSQL
// server (where each query is a network round trip): the dashboard's page, the invite list and the CSV export, each
// over a Sql that counts what it is asked. A list of 25 rows asks exactly as many queries as one of 3, so a read per
// row coming back fails here. The rows are those the per-row reads gave: each invite as its own view shows it, each
// dashboard row's points pending as its own final grading and confirmations count them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../../server/src/auth/index.js';
import { InviteService, type InviteServiceDeps } from '../../server/src/invites/invite-service.js';
import { ReviewService, type ReviewServiceDeps } from '../../server/src/review/review-service.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { InvitesRepo } from '../../server/src/store/invites-repo.js';
import { ReviewsRepo, type AttemptQuery } from '../../server/src/store/reviews-repo.js';
import type { Database, Sql, SqlValue } from '../../server/src/store/sql.js';
import { UsersRepo } from '../../server/src/store/users-repo.js';
import { tallyGrade } from '../../contract/index.js';
import { testDatabases } from '../helpers/databases.js';
import { addUsers, attempt, check, DAY, invite, run, T0 } from '../helpers/store-fixtures.js';

/** `sql` with every query counted in `counter` (those inside a transaction too). */
function counting(sql: Sql, counter: { queries: number }): Sql {
  const count = () => void counter.queries++;
  return {
    dialect: sql.dialect,
    one: <T>(text: string, params?: readonly SqlValue[]) => (count(), sql.one<T>(text, params)),
    all: <T>(text: string, params?: readonly SqlValue[]) => (count(), sql.all<T>(text, params)),
    run: (text, params) => (count(), sql.run(text, params)),
    transaction: (fn) => sql.transaction((tx) => fn(counting(tx, counter))),
  };
}

const CREATORS = ['u_alice', 'u_bob', 'u_carol'];
const viewer = { id: 'u_alice', role: 'interviewer' as const };

describe.each(testDatabases())('staff lists in a fixed number of queries on $name', (kind) => {
  afterAll(() => kind.closeAll(), 60_000);

  let db: Database;
  const counter = { queries: 0 };
  let sql: Sql;
  let grading: GradingRepo;
  let reviews: ReviewService;
  let invites: InviteService;

  /** The queries `read` asks, and what it answers. */
  async function queries<T>(read: () => Promise<T>): Promise<{ queries: number; result: T }> {
    counter.queries = 0;
    const result = await read();
    return { queries: counter.queries, result };
  }

  /**
   * `n` interview attempts of `exerciseId`, each from an invite, in turn: not started yet, running, graded once
   * (its advisory check confirmed or not), regraded (two final gradings), reviewed; and as many invites not started.
   */
  async function seed(exerciseId: string, n: number, createdAt: number): Promise<void> {
    const attemptsRepo = new AttemptsRepo(db);
    const invitesRepo = new InvitesRepo(db);
    for (let i = 0; i < n; i++) {
      const id = `${exerciseId}-${i}`;
      const at = createdAt + 10 * i;
      const shape = i % 4;
      const ended = shape >= 2;
      await attemptsRepo.insert(
        attempt(id, {
          exerciseId,
          mode: 'interview',
          state: ended ? 'archived' : shape === 1 ? 'running' : 'created',
          createdAt: at,
          endedAt: ended ? at + 100 : null,
          endReason: ended ? 'submitted' : null,
          inviteId: `inv-${id}`,
          exerciseVersion: `v-${id}`,
        }),
      );
      const creator = CREATORS[i % CREATORS.length]!;
      await invitesRepo.insert(invite(`inv-${id}`, { exerciseId, attemptId: id, createdBy: creator, createdAt: at, candidateEmail: `${id}@example.test` }));
      await invitesRepo.insert(
        invite(`new-${id}`, { exerciseId, createdBy: creator, createdAt: at + 5, expiresAt: Date.now() + DAY, revokedAt: i % 5 === 0 ? at + 6 : null }),
      );
      if (!ended) continue;
      const first = await grading.insert(run(id, 'final', at + 100, [check('a', 2, 'pass'), check('adv', 3, 'pass', true)]));
      if (shape === 3) {
        await grading.insert(run(id, 'final', at + 200, [check('a', 2, 'fail'), check('adv', 3, 'fail', true)], { requestedBy: 'u_bob' }));
      }
      if (i % 3 === 0) {
        await grading.confirm({
          attemptId: id,
          checkId: 'adv',
          verdict: 'pass',
          comment: '',
          graderVerdict: 'pass',
          gradingRunId: first.id,
          confirmedBy: 'u_alice',
          confirmedAt: at,
        });
      }
      for (const reviewer of CREATORS.slice(0, i % 3)) {
        await new ReviewsRepo(db).upsert({ attemptId: id, reviewerId: reviewer, ratings: {}, recommendation: 'yes', summary: '' });
      }
    }
  }

  beforeAll(async () => {
    db = await kind.open();
    grading = new GradingRepo(db);
    await addUsers(db, ...CREATORS);
    await seed('ex-many', 25, T0);
    await seed('ex-few', 3, T0 + 1000_000);

    sql = counting(db, counter);
    const users = new UsersRepo(sql);
    const auth = {
      userNames: (ids: readonly string[]) => users.names(ids),
      userName: async (id: string) => (await users.names([id])).get(id) ?? null,
      audit: async () => undefined,
    } as unknown as Auth;
    const catalog = { get: () => undefined, forAttempt: () => undefined, at: () => undefined };
    const attemptsRepo = new AttemptsRepo(sql);
    invites = new InviteService({
      repo: new InvitesRepo(sql),
      attempts: { get: (id: string) => attemptsRepo.get(id) },
      catalog,
      auth,
    } as unknown as InviteServiceDeps);
    reviews = new ReviewService({
      reviews: new ReviewsRepo(sql),
      grading: new GradingRepo(sql),
      attemptsRepo,
      invites,
      catalog,
      auth,
      publicUrl: 'http://lab.example.test',
    } as unknown as ReviewServiceDeps);
  }, 180_000);

  const page = (over: Partial<AttemptQuery>): AttemptQuery => ({ exerciseId: 'ex-many', sort: 'createdAt', order: 'asc', page: 1, pageSize: 25, ...over });

  it("reads a dashboard page of 25 attempts in as many queries as a page of 3, each with its grading's points pending", async () => {
    const many = await queries(() => reviews.list(page({ pageSize: 25 })));
    const few = await queries(() => reviews.list(page({ pageSize: 3 })));
    expect(many.result.attempts).toHaveLength(25);
    expect(few.result.attempts).toHaveLength(3);
    expect(few.result.attempts.map((a) => a.pendingPoints)).toEqual([null, null, 3]);
    expect(many.queries).toBe(few.queries);

    // The points pending as each attempt's own current grading and confirmations count them.
    for (const a of many.result.attempts) {
      const final = await grading.final(a.id);
      const expected = final ? tallyGrade(final.results, await grading.confirmations.verdicts(a.id)).pendingPoints : null;
      expect([a.id, a.pendingPoints]).toEqual([a.id, expected]);
    }
    expect(new Set(many.result.attempts.map((a) => a.pendingPoints))).toEqual(new Set([null, 0, 3]));
    expect(many.result.attempts.map((a) => a.id)).toEqual(Array.from({ length: 25 }, (_, i) => `ex-many-${i}`));
  });

  it('lists 50 invites in as many queries as 6, each as its own view shows it', async () => {
    const many = await queries(() => invites.list(viewer, { exerciseId: 'ex-many' }));
    const few = await queries(() => invites.list(viewer, { exerciseId: 'ex-few' }));
    expect(many.result).toHaveLength(50);
    expect(few.result).toHaveLength(6);
    expect(many.queries).toBe(few.queries);

    const stored = await new InvitesRepo(db).list({ exerciseId: 'ex-many' });
    expect(many.result).toEqual(await Promise.all(stored.map((i) => invites.view(i, viewer))));
    expect(new Set(many.result.map((v) => v.status))).toEqual(new Set(['pending', 'revoked', 'running', 'finished']));
  });

  it('exports 25 attempts as CSV in as many queries as 3', async () => {
    const many = await queries(() => reviews.csv.export({ exerciseId: 'ex-many', sort: 'createdAt', order: 'asc' }, 'u_alice'));
    const few = await queries(() => reviews.csv.export({ exerciseId: 'ex-few', sort: 'createdAt', order: 'asc' }, 'u_alice'));
    expect(many.result.rows).toBe(25);
    expect(few.result.rows).toBe(3);
    expect(many.queries).toBe(few.queries);
    const lines = [...many.result.chunks];
    expect(lines).toHaveLength(26);
    expect(lines[1]).toContain('ex-many-0@example.test');
  });
});
