// The delivery worker on a real SQLite file and a real HTTP receiver on loopback: giving up after the last try,
// keeping only pending rows past the retention, leaving disabled endpoints' deliveries waiting, and which domain
// events make webhook events at all.
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import type { Attempt } from '../../server/src/store/attempts-repo.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { WebhooksRepo } from '../../server/src/store/webhooks-repo.js';
import { webhookEventOf } from '../../server/src/webhooks/payloads.js';
import { DeliveryWorker, MAX_TRIES } from '../../server/src/webhooks/worker.js';
import { tempDataDir } from '../helpers/server.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const quiet = { info() {}, warn() {}, error() {} };
const ENDPOINT = 'wh_00000000000000000001';
const DAY = 86_400_000;

async function until(what: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webhook delivery worker', () => {
  let dir: string;
  let db: Db;
  let repo: WebhooksRepo;
  let receiver: Receiver;
  let worker: DeliveryWorker | undefined;

  beforeEach(async () => {
    dir = tempDataDir();
    db = openDatabase(dir);
    repo = new WebhooksRepo(sqliteSql(db));
    receiver = await startReceiver(() => 500);
    const now = Date.now();
    await repo.insertEndpoint({ id: ENDPOINT, url: receiver.url, description: '', secret: 'whsec_test-secret-123456', events: ['attempt.graded'], enabled: true, createdBy: 'u_x', createdAt: now, updatedAt: now });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    db.close();
    await receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = () => {
    const config = { ...loadConfig({ OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1', OPSLAB_WEBHOOK_RETRY_BASE_SECONDS: '0.05' }).webhooks };
    worker = new DeliveryWorker({ repo, config, log: quiet });
    worker.start();
  };
  const insert = (id: string, createdAt = Date.now()) =>
    repo.insertDeliveries([{ id, endpointId: ENDPOINT, eventId: `evt_${id}`, type: 'attempt.graded', body: '{}', createdAt }]);

  it('marks a delivery failed after the last try, with nothing more scheduled', async () => {
    await insert('whd_00000000000000000001');
    // Seven tries already made (the schedule's first 22 hours).
    for (let i = 0; i < MAX_TRIES - 1; i++) {
      await repo.recordTry('whd_00000000000000000001', { at: Date.now(), status: 'pending', lastStatus: 500, lastError: 'HTTP 500', nextTryAt: Date.now() });
    }
    start();
    await until(async () => (await repo.getDelivery('whd_00000000000000000001'))!.status !== 'pending');
    expect(await repo.getDelivery('whd_00000000000000000001')).toMatchObject({ status: 'failed', tries: MAX_TRIES, lastStatus: 500, nextTryAt: null, deliveredAt: null });
    expect(receiver.received).toHaveLength(1);
    expect((await repo.counts()).get(ENDPOINT)).toEqual({ pending: 0, failed: 1 });
  });

  it('leaves a disabled endpoint\'s deliveries waiting, and sends them once it is enabled again', async () => {
    receiver.respond = () => 204;
    await repo.updateEndpoint(ENDPOINT, { enabled: false });
    await insert('whd_00000000000000000002');
    start();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(0);
    await repo.updateEndpoint(ENDPOINT, { enabled: true });
    worker!.kick();
    await until(async () => (await repo.getDelivery('whd_00000000000000000002'))!.status === 'delivered');
    expect(receiver.received).toHaveLength(1);
  });

  it('purges delivered and failed deliveries past the retention, never pending ones', async () => {
    const old = Date.now() - 31 * DAY;
    await insert('whd_00000000000000000003', old);
    await insert('whd_00000000000000000004', old);
    await insert('whd_00000000000000000005', old);
    await insert('whd_00000000000000000006');
    await repo.recordTry('whd_00000000000000000003', { at: old, status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });
    await repo.recordTry('whd_00000000000000000004', { at: old, status: 'failed', lastStatus: 500, lastError: 'HTTP 500', nextTryAt: null });
    await repo.recordTry('whd_00000000000000000006', { at: Date.now(), status: 'delivered', lastStatus: 200, lastError: null, nextTryAt: null });
    expect(await repo.purgeDoneBefore(Date.now() - 30 * DAY)).toBe(2);
    expect((await repo.listDeliveries(ENDPOINT, 100)).map((d) => d.id).sort()).toEqual(['whd_00000000000000000005', 'whd_00000000000000000006']);
  });
});

describe('which domain events make webhook events', () => {
  const attempt = (over: Partial<Attempt> = {}): Attempt =>
    ({
      id: 'a_00000000000000000001', exerciseId: 'graded-demo', state: 'submitted', tokenHash: 'secret-hash', timeLimitSeconds: 600,
      createdAt: 1, startedAt: 2, deadline: 3, endedAt: 4, endReason: 'submitted', sandboxId: 'c1', sandboxStatus: 'running',
      recordingPath: null, failure: null, seed: 's', params: {}, hintsRevealed: 0, mode: 'interview', inviteId: 'i_00000000000000000001',
      feedback: true, ownerHash: null, updatedAt: 5, ...over,
    }) as Attempt;

  it('interviews only, never a practice attempt or a practice sandbox taken back', () => {
    expect(webhookEventOf({ type: 'attempt.ended', attempt: attempt() })?.type).toBe('attempt.submitted');
    expect(webhookEventOf({ type: 'attempt.ended', attempt: attempt({ endReason: 'expired' }) })?.type).toBe('attempt.expired');
    expect(webhookEventOf({ type: 'attempt.ended', attempt: attempt({ mode: 'practice', inviteId: null }) })).toBeNull();
    expect(webhookEventOf({ type: 'attempt.ended', attempt: attempt({ endReason: 'preempted' }) })).toBeNull();
    expect(webhookEventOf({ type: 'invite.started', attempt: attempt({ mode: 'practice' }) })).toBeNull();
    const review = { type: 'review.saved' as const, attemptId: 'a_00000000000000000001', attempt: attempt(), reviewerId: 'u_1', review: { ratings: { git: { rating: 3 as const, notes: 'notes about the candidate' } }, recommendation: null, summary: 'private notes' } };
    expect(webhookEventOf({ ...review, attempt: attempt({ mode: 'practice' }) })).toBeNull();
    const made = webhookEventOf(review);
    expect(made?.type).toBe('review.completed');
    expect(made?.data).toMatchObject({ ratings: { git: 3 } });
    // The reviewer's free text and the token hash stay home.
    expect(JSON.stringify(made)).not.toMatch(/private notes|notes about|secret-hash/);
  });
});
