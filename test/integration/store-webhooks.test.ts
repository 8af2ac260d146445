// WebhooksRepo and ExerciseSourcesRepo on SQLite and on a real PostgreSQL server: endpoints and their partial
// updates (concurrent changes of different fields both kept), the delivery counts, deliveries stored all or none
// (and not for an endpoint deleted meanwhile), the due queue's order and filters, the claim of a delivery (of
// workers claiming at once, one wins), tries recorded only while the claim holds, re-sends, the purge; two delivery
// workers on one database sending every delivery exactly once; and the publications and publish failures of
// exercises from git.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { ExerciseSourcesRepo, type PublishFailure } from '../../server/src/store/exercise-sources-repo.js';
import type { Database } from '../../server/src/store/sql.js';
import { WebhooksRepo, type WebhookDelivery, type WebhookEndpoint } from '../../server/src/store/webhooks-repo.js';
import { DeliveryWorker } from '../../server/src/webhooks/worker.js';
import { testDatabases } from '../helpers/databases.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const quiet = { info() {}, warn() {}, error() {} };
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const endpoint = (id: string, over: Partial<WebhookEndpoint> = {}): WebhookEndpoint => ({
  id,
  url: `https://ats.example.test/${id}`,
  description: '',
  secret: `whsec_${id}-secret`,
  events: ['attempt.graded'],
  enabled: true,
  createdBy: 'u_admin',
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

const delivery = (id: string, endpointId: string, createdAt = T0) => ({
  id,
  endpointId,
  eventId: `evt_${id}`,
  type: 'attempt.graded' as const,
  body: `{"id":"evt_${id}"}`,
  createdAt,
});

const ids = (ds: WebhookDelivery[]) => ds.map((d) => d.id);

describe.each(testDatabases())('WebhooksRepo on $name', (kind) => {
  let db: Database;
  let repo: WebhooksRepo;
  beforeAll(async () => {
    db = await kind.open();
    repo = new WebhooksRepo(db);
  }, 120_000);
  afterAll(() => kind.closeAll(), 60_000);

  it('stores endpoints and lists them oldest first (then by id), events and the enabled flag read back', async () => {
    await repo.insertEndpoint(endpoint('wh_b', { createdAt: T0, events: ['attempt.graded', 'review.completed'] }));
    await repo.insertEndpoint(endpoint('wh_a', { createdAt: T0, enabled: false, description: 'ATS' }));
    await repo.insertEndpoint(endpoint('wh_0', { createdAt: T0 - 1 }));
    expect((await repo.listEndpoints()).map((e) => e.id)).toEqual(['wh_0', 'wh_a', 'wh_b']);
    expect(await repo.getEndpoint('wh_b')).toEqual(endpoint('wh_b', { events: ['attempt.graded', 'review.completed'] }));
    expect(await repo.getEndpoint('wh_a')).toMatchObject({ enabled: false, description: 'ATS' });
    expect(await repo.getEndpoint('wh_none')).toBeUndefined();
    for (const id of ['wh_0', 'wh_a', 'wh_b']) await repo.deleteEndpoint(id);
  });

  it('updates only the fields given; two updates of different fields at once are both kept', async () => {
    await repo.insertEndpoint(endpoint('wh_upd'));
    const before = Date.now();
    const updated = await repo.updateEndpoint('wh_upd', { enabled: false });
    expect(updated).toMatchObject({ ...endpoint('wh_upd'), enabled: false, updatedAt: expect.any(Number) });
    expect(updated!.updatedAt).toBeGreaterThanOrEqual(before);
    expect(await repo.getEndpoint('wh_upd')).toEqual(updated);

    await Promise.all([
      repo.updateEndpoint('wh_upd', { url: 'https://other.example.test/hook', description: 'moved' }),
      repo.updateEndpoint('wh_upd', { events: ['invite.started'], enabled: true }),
      repo.updateEndpoint('wh_upd', { secret: 'whsec_rotated' }),
    ]);
    expect(await repo.getEndpoint('wh_upd')).toMatchObject({
      url: 'https://other.example.test/hook',
      description: 'moved',
      events: ['invite.started'],
      enabled: true,
      secret: 'whsec_rotated',
      createdBy: 'u_admin',
      createdAt: T0,
    });
    // An empty description is a value, not "unchanged".
    expect(await repo.updateEndpoint('wh_upd', { description: '' })).toMatchObject({ description: '', url: 'https://other.example.test/hook' });
    expect(await repo.updateEndpoint('wh_none', { enabled: false })).toBeUndefined();
    expect(await repo.deleteEndpoint('wh_upd')).toBe(true);
    expect(await repo.deleteEndpoint('wh_upd')).toBe(false);
  });

  it('stores an event’s deliveries all or none, leaves out an endpoint that is gone, and deletes them with their endpoint', async () => {
    await repo.insertEndpoint(endpoint('wh_d1'));
    await repo.insertEndpoint(endpoint('wh_d2'));
    expect(await repo.insertDeliveries([delivery('whd_1', 'wh_d1'), delivery('whd_2', 'wh_d2'), delivery('whd_3', 'wh_gone')])).toBe(2);
    expect(await repo.getDelivery('whd_3')).toBeUndefined();
    expect(await repo.getDelivery('whd_1')).toEqual({
      ...delivery('whd_1', 'wh_d1'),
      status: 'pending',
      tries: 0,
      lastStatus: null,
      lastError: null,
      lastTryAt: null,
      nextTryAt: T0,
      deliveredAt: null,
    });
    // A duplicate id fails the whole event: none of its deliveries is stored.
    await expect(repo.insertDeliveries([delivery('whd_4', 'wh_d1'), delivery('whd_1', 'wh_d2')])).rejects.toThrow();
    expect(await repo.getDelivery('whd_4')).toBeUndefined();
    expect(await repo.insertDeliveries([])).toBe(0);

    expect(await repo.deleteEndpoint('wh_d1')).toBe(true);
    expect(await repo.getDelivery('whd_1')).toBeUndefined();
    expect(await repo.getDelivery('whd_2')).toBeDefined();
    await repo.deleteEndpoint('wh_d2');
  });

  it('lists an endpoint’s deliveries newest first, up to the limit', async () => {
    await repo.insertEndpoint(endpoint('wh_log'));
    await repo.insertEndpoint(endpoint('wh_other'));
    await repo.insertDeliveries([delivery('whd_l1', 'wh_log', T0 + 1)]);
    await repo.insertDeliveries([delivery('whd_l3', 'wh_log', T0 + 3), delivery('whd_o1', 'wh_other', T0 + 3)]);
    await repo.insertDeliveries([delivery('whd_l2', 'wh_log', T0 + 2)]);
    expect(ids(await repo.listDeliveries('wh_log', 10))).toEqual(['whd_l3', 'whd_l2', 'whd_l1']);
    expect(ids(await repo.listDeliveries('wh_log', 2))).toEqual(['whd_l3', 'whd_l2']);
    expect(await repo.listDeliveries('wh_none', 10)).toEqual([]);
    await repo.deleteEndpoint('wh_log');
    await repo.deleteEndpoint('wh_other');
  });

  it('counts pending and failed deliveries per endpoint, as numbers', async () => {
    await repo.insertEndpoint(endpoint('wh_c1'));
    await repo.insertEndpoint(endpoint('wh_c2'));
    await repo.insertDeliveries([delivery('whd_c1', 'wh_c1'), delivery('whd_c2', 'wh_c1'), delivery('whd_c3', 'wh_c1'), delivery('whd_c4', 'wh_c2')]);
    await repo.recordTry('whd_c2', { at: T0, status: 'failed', lastStatus: 500, lastError: 'HTTP 500', nextTryAt: null });
    await repo.recordTry('whd_c4', { at: T0, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });
    const counts = await repo.counts();
    expect(counts.get('wh_c1')).toEqual({ pending: 2, failed: 1 });
    // Only delivered ones: not counted at all.
    expect(counts.has('wh_c2')).toBe(false);
    await repo.deleteEndpoint('wh_c1');
    await repo.deleteEndpoint('wh_c2');
    expect(await repo.counts()).toEqual(new Map());
  });

  it('gives the due deliveries of enabled endpoints longest-waiting first, leaving out the skipped, and when the next is due', async () => {
    await repo.insertEndpoint(endpoint('wh_q'));
    await repo.insertEndpoint(endpoint('wh_off', { enabled: false }));
    await repo.insertDeliveries([delivery('whd_q3', 'wh_q', T0 + 30), delivery('whd_q1', 'wh_q', T0 + 10), delivery('whd_q2', 'wh_q', T0 + 20)]);
    await repo.insertDeliveries([delivery('whd_off', 'wh_off', T0)]);
    await repo.insertDeliveries([delivery('whd_later', 'wh_q', T0 + 1000)]);
    await repo.insertDeliveries([delivery('whd_done', 'wh_q', T0)]);
    await repo.recordTry('whd_done', { at: T0, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });

    expect(ids(await repo.due(T0 + 100, 10, new Set()))).toEqual(['whd_q1', 'whd_q2', 'whd_q3']);
    expect(ids(await repo.due(T0 + 20, 10, new Set()))).toEqual(['whd_q1', 'whd_q2']);
    expect(ids(await repo.due(T0 + 100, 2, new Set()))).toEqual(['whd_q1', 'whd_q2']);
    expect(ids(await repo.due(T0 + 100, 2, new Set(['whd_q1'])))).toEqual(['whd_q2', 'whd_q3']);
    expect(await repo.due(T0 + 100, 0, new Set())).toEqual([]);

    expect(await repo.nextDue(new Set())).toBe(T0 + 10);
    expect(await repo.nextDue(new Set(['whd_q1', 'whd_q2']))).toBe(T0 + 30);
    expect(await repo.nextDue(new Set(['whd_q1', 'whd_q2', 'whd_q3']))).toBe(T0 + 1000);
    expect(await repo.nextDue(new Set(['whd_q1', 'whd_q2', 'whd_q3', 'whd_later']))).toBeNull();

    // Enabled again: its waiting delivery is the longest-waiting.
    await repo.updateEndpoint('wh_off', { enabled: true });
    expect(ids(await repo.due(T0 + 100, 1, new Set()))).toEqual(['whd_off']);
    expect(await repo.nextDue(new Set())).toBe(T0);
    await repo.deleteEndpoint('wh_q');
    await repo.deleteEndpoint('wh_off');
    expect(await repo.nextDue(new Set())).toBeNull();
  });

  it('lets one of many claims of a due delivery win, and holds it out of the queue until the claim ends', async () => {
    await repo.insertEndpoint(endpoint('wh_cl'));
    await repo.insertDeliveries([delivery('whd_cl', 'wh_cl', T0)]);
    const now = T0 + 100;
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.claim('whd_cl', now, now + 60_000 + i)));
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    const heldUntil = won[0]!.nextTryAt!;
    expect(won[0]).toMatchObject({ id: 'whd_cl', status: 'pending', tries: 0 });
    expect(heldUntil).toBeGreaterThanOrEqual(now + 60_000);
    expect(await repo.due(now, 10, new Set())).toEqual([]);
    expect(await repo.claim('whd_cl', now, now + 1)).toBeUndefined();

    // Given back untried: due as before. Giving back twice, or a claim it does not hold, changes nothing.
    expect(await repo.release('whd_cl', heldUntil, T0)).toBe(true);
    expect(await repo.release('whd_cl', heldUntil, T0 + 5)).toBe(false);
    expect(ids(await repo.due(now, 10, new Set()))).toEqual(['whd_cl']);
    expect(await repo.getDelivery('whd_cl')).toMatchObject({ nextTryAt: T0, tries: 0 });

    // Not due yet, done, or gone: nothing to claim.
    expect(await repo.claim('whd_cl', T0 - 1, T0 + 60_000)).toBeUndefined();
    await repo.recordTry('whd_cl', { at: now, status: 'failed', lastStatus: 500, lastError: 'HTTP 500', nextTryAt: null });
    expect(await repo.claim('whd_cl', now, now + 60_000)).toBeUndefined();
    expect(await repo.claim('whd_none', now, now + 60_000)).toBeUndefined();
    await repo.deleteEndpoint('wh_cl');
  });

  it('records a try of a claimed delivery only while the claim holds (not after a re-send)', async () => {
    await repo.insertEndpoint(endpoint('wh_tr'));
    await repo.insertDeliveries([delivery('whd_tr', 'wh_tr', T0)]);
    const claimed = (await repo.claim('whd_tr', T0, T0 + 60_000))!;
    expect(await repo.recordTry('whd_tr', { at: T0 + 5, status: 'pending', lastStatus: 503, lastError: 'HTTP 503', nextTryAt: T0 + 30_000 }, claimed.nextTryAt!)).toBe(true);
    expect(await repo.getDelivery('whd_tr')).toMatchObject({ status: 'pending', tries: 1, lastStatus: 503, lastError: 'HTTP 503', lastTryAt: T0 + 5, nextTryAt: T0 + 30_000, deliveredAt: null });
    // The same claim again: no longer held.
    expect(await repo.recordTry('whd_tr', { at: T0 + 6, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null }, claimed.nextTryAt!)).toBe(false);

    const second = (await repo.claim('whd_tr', T0 + 30_000, T0 + 90_000))!;
    expect(second.tries).toBe(1);
    // A re-send while the try runs: the try's outcome is not recorded, the delivery is due now with its tries from zero.
    const again = await repo.resend('whd_tr', T0 + 31_000);
    expect(again).toMatchObject({ status: 'pending', tries: 0, nextTryAt: T0 + 31_000, deliveredAt: null, lastStatus: 503 });
    expect(await repo.recordTry('whd_tr', { at: T0 + 32_000, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null }, second.nextTryAt!)).toBe(false);
    expect(await repo.getDelivery('whd_tr')).toEqual(again);

    // Delivered: the time kept, nothing scheduled.
    const third = (await repo.claim('whd_tr', T0 + 31_000, T0 + 91_000))!;
    expect(await repo.recordTry('whd_tr', { at: T0 + 33_000, status: 'delivered', lastStatus: 204, lastError: null, nextTryAt: null }, third.nextTryAt!)).toBe(true);
    expect(await repo.getDelivery('whd_tr')).toMatchObject({ status: 'delivered', tries: 1, lastStatus: 204, lastError: null, lastTryAt: T0 + 33_000, nextTryAt: null, deliveredAt: T0 + 33_000 });
    // A re-send of a delivered one clears the delivered time; of one that is gone, nothing.
    expect(await repo.resend('whd_tr', T0 + 40_000)).toMatchObject({ status: 'pending', tries: 0, nextTryAt: T0 + 40_000, deliveredAt: null });
    expect(await repo.resend('whd_none', T0)).toBeUndefined();
    // Without a claim (tries recorded by hand), always recorded; failed for good clears the delivered time.
    expect(await repo.recordTry('whd_tr', { at: T0 + 41_000, status: 'failed', lastStatus: null, lastError: 'no answer', nextTryAt: null })).toBe(true);
    expect(await repo.getDelivery('whd_tr')).toMatchObject({ status: 'failed', tries: 1, lastStatus: null, lastError: 'no answer', deliveredAt: null, nextTryAt: null });
    expect(await repo.recordTry('whd_none', { at: T0, status: 'failed', lastStatus: null, lastError: 'x', nextTryAt: null })).toBe(false);
    await repo.deleteEndpoint('wh_tr');
  });

  it('purges done deliveries made before the cutoff, never pending ones, and says how many', async () => {
    await repo.insertEndpoint(endpoint('wh_p'));
    await repo.insertDeliveries([delivery('whd_p1', 'wh_p', T0), delivery('whd_p2', 'wh_p', T0), delivery('whd_p3', 'wh_p', T0), delivery('whd_p4', 'wh_p', T0 + 10)]);
    await repo.recordTry('whd_p1', { at: T0, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });
    await repo.recordTry('whd_p2', { at: T0, status: 'failed', lastStatus: 500, lastError: 'HTTP 500', nextTryAt: null });
    await repo.recordTry('whd_p4', { at: T0 + 10, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });
    expect(await repo.purgeDoneBefore(T0 + 5)).toBe(2);
    expect(ids(await repo.listDeliveries('wh_p', 10)).sort()).toEqual(['whd_p3', 'whd_p4']);
    expect(await repo.purgeDoneBefore(T0 + 5)).toBe(0);
    await repo.deleteEndpoint('wh_p');
  });

  it('two delivery workers on one database send every delivery once', async () => {
    const receiver = await startReceiver(() => 200);
    const config = { ...loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1' }).webhooks, concurrency: 3 };
    const workers = [new DeliveryWorker({ repo, config, log: quiet }), new DeliveryWorker({ repo: new WebhooksRepo(db), config, log: quiet })];
    try {
      const now = Date.now();
      await repo.insertEndpoint(endpoint('wh_two', { url: receiver.url, createdAt: now, updatedAt: now }));
      await repo.insertDeliveries(Array.from({ length: 30 }, (_, i) => delivery(`whd_two_${String(i).padStart(2, '0')}`, 'wh_two', now)));
      for (const w of workers) w.start();
      // Kicked again and again while they work: passes do not overlap into a second try.
      const kicks = setInterval(() => workers.forEach((w) => w.kick()), 5);
      try {
        await receiver.waitFor((all) => all.length >= 30, 30_000);
        const counts = async () => (await repo.counts()).get('wh_two');
        for (let end = Date.now() + 10_000; (await counts()) !== undefined && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        clearInterval(kicks);
      }
      const sent = receiver.received.map((r) => r.body.id as string);
      expect(sent).toHaveLength(30);
      expect(new Set(sent).size).toBe(30);
      const log = await repo.listDeliveries('wh_two', 100);
      expect(log.every((d) => d.status === 'delivered' && d.tries === 1)).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await receiver.close();
      await repo.deleteEndpoint('wh_two');
    }
  });

  it('a stopped worker gives back the delivery it was sending, due as before, untried', async () => {
    // Never answers.
    const receiver = await startReceiver(() => 'custom');
    const config = { ...loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1' }).webhooks };
    const worker = new DeliveryWorker({ repo, config, log: quiet });
    try {
      const now = Date.now();
      await repo.insertEndpoint(endpoint('wh_stop', { url: receiver.url, createdAt: now, updatedAt: now }));
      await repo.insertDeliveries([delivery('whd_stop', 'wh_stop', now - 1000)]);
      worker.start();
      await receiver.waitFor((all) => all.length === 1);
      expect(worker.sending).toBe(1);
      expect((await repo.getDelivery('whd_stop'))!.nextTryAt).toBeGreaterThan(now);
      await worker.stop();
      expect(await repo.getDelivery('whd_stop')).toMatchObject({ status: 'pending', tries: 0, nextTryAt: now - 1000, lastTryAt: null });
    } finally {
      await worker.stop();
      await receiver.close();
      await repo.deleteEndpoint('wh_stop');
    }
  });
});

describe.each(testDatabases())('ExerciseSourcesRepo on $name', (kind) => {
  let db: Database;
  let repo: ExerciseSourcesRepo;
  beforeAll(async () => {
    db = await kind.open();
    repo = new ExerciseSourcesRepo(db);
  }, 120_000);
  afterAll(() => kind.closeAll(), 60_000);

  const failure = (exerciseId: string, version: string, failedAt: number, over: Partial<PublishFailure> = {}): PublishFailure => ({
    exerciseId,
    version,
    source: 'https://git.example.test/team/exercises.git#main',
    commit: `c_${version}`,
    stage: 'self-test',
    problems: [`${exerciseId} ${version}: check a expected fail, got pass`],
    failedAt,
    ...over,
  });

  it('publishes one version per exercise (a new one replaces it), lists them by id, and withdraws them', async () => {
    const source = 'https://git.example.test/team/exercises.git#main';
    await repo.publish({ exerciseId: 'web-tls', source, commit: 'c1', version: 'v1', publishedAt: T0 });
    await repo.publish({ exerciseId: 'dns-basics', source, commit: 'c1', version: 'v7', publishedAt: T0 });
    await repo.publish({ exerciseId: 'web-tls', source: 'file:///other.git', commit: 'c2', version: 'v2', publishedAt: T0 + 1 });
    expect(await repo.publications()).toEqual([
      { exerciseId: 'dns-basics', source, commit: 'c1', version: 'v7', publishedAt: T0 },
      { exerciseId: 'web-tls', source: 'file:///other.git', commit: 'c2', version: 'v2', publishedAt: T0 + 1 },
    ]);
    await repo.unpublish('web-tls');
    await repo.unpublish('never-published');
    expect((await repo.publications()).map((p) => p.exerciseId)).toEqual(['dns-basics']);
    await repo.unpublish('dns-basics');
    expect(await repo.publications()).toEqual([]);
  });

  it('keeps a failure per version (the same version failing again replaces it), its problems read back', async () => {
    await repo.recordFailure(failure('git-ports', 'v1', T0, { stage: 'validation', problems: ['exercise.yaml: title missing', 'checks/a: not executable'] }));
    expect(await repo.failure('git-ports', 'v1')).toEqual(failure('git-ports', 'v1', T0, { stage: 'validation', problems: ['exercise.yaml: title missing', 'checks/a: not executable'] }));
    await repo.recordFailure(failure('git-ports', 'v1', T0 + 5, { stage: 'conflict', problems: ['in both'], commit: 'c_other' }));
    expect(await repo.failure('git-ports', 'v1')).toEqual(failure('git-ports', 'v1', T0 + 5, { stage: 'conflict', problems: ['in both'], commit: 'c_other' }));
    expect(await repo.failure('git-ports', 'v2')).toBeUndefined();
    expect(await repo.failure('GIT-PORTS', 'v1')).toBeUndefined();
  });

  it('gives the latest failure of each exercise, by id (of two in the same millisecond, the first version by name)', async () => {
    await repo.recordFailure(failure('web-tls', 'v1', T0 + 10));
    await repo.recordFailure(failure('web-tls', 'v3', T0 + 30));
    await repo.recordFailure(failure('web-tls', 'v2', T0 + 20));
    await repo.recordFailure(failure('alpha', 'vb', T0 + 50));
    await repo.recordFailure(failure('alpha', 'va', T0 + 50));
    const last = await repo.lastFailures();
    expect(last.map((f) => [f.exerciseId, f.version, f.failedAt])).toEqual([
      ['alpha', 'va', T0 + 50],
      ['git-ports', 'v1', T0 + 5],
      ['web-tls', 'v3', T0 + 30],
    ]);
    expect(last[2]).toEqual(failure('web-tls', 'v3', T0 + 30));
  });
});
