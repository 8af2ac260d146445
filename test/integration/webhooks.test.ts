// Webhooks on a real server and engine, to real HTTP receivers on loopback (allowed here with
// OPSLAB_WEBHOOK_ALLOW_PRIVATE=1): the signature recipe of docs/api.md, real lifecycle events, retries with
// backoff, a restart in the middle of the retries, the delivery log and re-sends.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { startTestServer, type TestServer, useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { api, attemptCookieToken, request } from '../helpers/api.js';
import { startReceiver, verifyDocumented, type Receiver } from '../helpers/webhook-receiver.js';

const EXERCISES = path.join(repoRoot(), 'test/fixtures/unit-exercises');
const ENV = { OPSLAB_EXERCISES_DIR: EXERCISES, OPSLAB_WEBHOOK_ALLOW_PRIVATE: '1', OPSLAB_WEBHOOK_RETRY_BASE_SECONDS: '0.3' };
const ALL_EVENTS = ['invite.started', 'attempt.submitted', 'attempt.expired', 'attempt.graded', 'review.completed'];

async function register(server: TestServer, admin: StaffSession, body: Record<string, unknown>) {
  const res = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, body);
  expect(res.status, res.text).toBe(201);
  return res.body.webhook as { id: string; secret: string; url: string; events: string[] };
}

async function deliveries(server: TestServer, admin: StaffSession, id: string) {
  const res = await request(server.url, 'GET', `/api/manage/webhooks/${id}/deliveries`, admin.headers);
  expect(res.status, res.text).toBe(200);
  return res.body.deliveries as { id: string; eventId: string; type: string; status: string; tries: number; lastStatus: number | null; lastError: string | null; nextTryAt: string | null }[];
}

async function until<T>(what: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const saveReview = (server: TestServer, who: StaffSession, attemptId: string, recommendation: string) =>
  request(server.url, 'PUT', `/api/manage/attempts/${attemptId}/review`, who.headers, {
    ratings: { git: { rating: 3, notes: '' } },
    recommendation,
    summary: 'solid',
  });

describe('webhooks (real server, real engine, real receivers)', () => {
  const server = useTestServer({ env: ENV });
  let admin: StaffSession;
  let interviewer: StaffSession;
  let receiver: Receiver;
  let attemptId: string;

  beforeAll(async () => {
    admin = await staffSession(server, 'admin');
    interviewer = await staffSession(server, 'interviewer');
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('is for admins only', async () => {
    const body = { url: receiver.url, events: ['attempt.graded'] };
    expect((await request(server.url, 'POST', '/api/manage/webhooks', interviewer.headers, body)).status).toBe(403);
    expect((await request(server.url, 'GET', '/api/manage/webhooks', interviewer.headers)).status).toBe(403);
    expect((await request(server.url, 'GET', '/api/manage/webhooks')).status).toBe(401);
    // Bad input: a clear 400, nothing stored.
    const bad = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, { url: 'ftp://example.com/x', events: ['attempt.graded'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/http/);
    const unknownEvent = await request(server.url, 'POST', '/api/manage/webhooks', admin.headers, { url: receiver.url, events: ['attempt.deleted'] });
    expect(unknownEvent.status).toBe(400);
    expect((await request(server.url, 'GET', '/api/manage/webhooks', admin.headers)).body.webhooks).toEqual([]);
  });

  it('sends the lifecycle of an interview, signed as documented, with ids and results and no credentials', async () => {
    const hook = await register(server, admin, { url: receiver.url, events: ALL_EVENTS, description: 'ATS' });
    expect(hook.secret).toMatch(/^whsec_/);
    // The secret is shown once: the list never holds it.
    const list = await request(server.url, 'GET', '/api/manage/webhooks', admin.headers);
    expect(list.text).not.toContain(hook.secret);
    expect(list.body.webhooks[0]).toMatchObject({ id: hook.id, enabled: true, events: ALL_EVENTS });

    const inv = await request(server.url, 'POST', '/api/manage/invites', interviewer.headers, {
      exerciseId: 'graded-demo', candidateName: 'Casey Candidate', candidateEmail: 'casey@example.test', showFeedback: true,
    });
    expect(inv.status, inv.text).toBe(201);
    const claim = new URL(inv.body.invite.link).hash.slice(1);
    const started = await request(server.url, 'POST', '/api/invite/start', { authorization: `Bearer ${claim}` });
    expect(started.status, started.text).toBe(201);
    attemptId = started.body.attempt.id;
    const own = attemptCookieToken(started.headers, attemptId);
    const submitted = await api(server.url, 'POST', `/api/attempts/${attemptId}/submit`, own);
    expect(submitted.status, submitted.text).toBe(200);

    const got = await receiver.waitFor((all) => ['invite.started', 'attempt.submitted', 'attempt.graded'].every((t) => all.some((r) => r.body?.type === t)));
    const byType = (t: string) => got.find((r) => r.body.type === t)!;
    for (const r of got) {
      expect(verifyDocumented(hook.secret, r.raw, r.headers['opslab-signature'] as string)).toBe(true);
      // A wrong secret or a changed byte does not verify.
      expect(verifyDocumented('whsec_wrong', r.raw, r.headers['opslab-signature'] as string)).toBe(false);
      expect(verifyDocumented(hook.secret, r.raw.replace('"data"', '"data" '), r.headers['opslab-signature'] as string)).toBe(false);
      expect(r.headers['opslab-webhook-id']).toBe(r.body.id);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Object.keys(r.body).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
      // Never a credential or the candidate's details.
      for (const secret of [claim, own, 'casey@example.test', 'Casey Candidate', '/invite#']) expect(r.raw).not.toContain(secret);
    }
    expect(byType('invite.started').body.data).toMatchObject({ attemptId, inviteId: inv.body.invite.id, exerciseId: 'graded-demo' });
    expect(byType('attempt.submitted').body.data).toMatchObject({ attemptId, reason: 'submitted' });
    const graded = byType('attempt.graded').body.data;
    expect(graded).toMatchObject({ attemptId, exerciseId: 'graded-demo', maxScore: 10, error: null });
    expect(typeof graded.exerciseVersion).toBe('string');
    expect(graded.checks.map((c: { id: string; verdict: string }) => c.id)).toEqual(['a', 'b']);
    expect(graded.checks.every((c: { verdict: string }) => ['pass', 'fail', 'error'].includes(c.verdict))).toBe(true);
    expect(JSON.stringify(graded.checks[0])).not.toMatch(/message|details/);

    // The log lists them as delivered in one try each.
    const log = await until(async () => {
      const d = await deliveries(server, admin, hook.id);
      return d.length >= 3 && d.every((x) => x.status === 'delivered') ? d : undefined;
    });
    expect(log.every((d) => d.tries === 1 && d.lastStatus === 200)).toBe(true);

    // A reviewer's scorecard.
    expect((await saveReview(server, interviewer, attemptId, 'yes')).status).toBe(200);
    const review = (await receiver.waitFor((all) => all.some((r) => r.body?.type === 'review.completed'))).find((r) => r.body.type === 'review.completed')!;
    expect(review.body.data).toMatchObject({ attemptId, reviewerId: interviewer.user.id, recommendation: 'yes' });

    // A re-send: the same event id again, the log counts it.
    const first = log.find((d) => d.type === 'attempt.graded')!;
    const before = receiver.received.length;
    const resend = await request(server.url, 'POST', `/api/manage/webhooks/${hook.id}/deliveries/${first.id}/resend`, admin.headers);
    expect(resend.status, resend.text).toBe(200);
    const again = (await receiver.waitFor((all) => all.length > before)).at(-1)!;
    expect(again.body.id).toBe(first.eventId);
    expect(again.headers['opslab-webhook-id']).toBe(first.eventId);

    // An invite withdrawn while its attempt runs: attempt.expired, reason revoked.
    const inv2 = await request(server.url, 'POST', '/api/manage/invites', interviewer.headers, {
      exerciseId: 'graded-demo', candidateName: 'Robin Candidate', candidateEmail: 'robin@example.test', showFeedback: false,
    });
    const claim2 = new URL(inv2.body.invite.link).hash.slice(1);
    const started2 = await request(server.url, 'POST', '/api/invite/start', { authorization: `Bearer ${claim2}` });
    expect(started2.status, started2.text).toBe(201);
    expect((await request(server.url, 'POST', `/api/manage/invites/${inv2.body.invite.id}/revoke`, interviewer.headers)).status).toBe(200);
    const expired = (await receiver.waitFor((all) => all.some((r) => r.body?.type === 'attempt.expired'))).find((r) => r.body.type === 'attempt.expired')!;
    expect(expired.body.data).toMatchObject({ attemptId: started2.body.attempt.id, inviteId: inv2.body.invite.id, reason: 'revoked' });

    // A staff regrade stores a new final grading: sent too, marked as a regrade.
    expect(graded.regrade).toBe(false);
    const regrade = await request(server.url, 'POST', `/api/manage/attempts/${attemptId}/regrade`, admin.headers);
    expect(regrade.status, regrade.text).toBeLessThan(300);
    const regraded = (await receiver.waitFor((all) => all.some((r) => r.body?.type === 'attempt.graded' && r.body.data.regrade))).find(
      (r) => r.body.type === 'attempt.graded' && r.body.data.regrade,
    )!;
    expect(regraded.body.data).toMatchObject({ attemptId, maxScore: 10, regrade: true });
    expect(regraded.body.id).not.toBe(byType('attempt.graded').body.id);

    // Disabled: nothing more is stored for it; deleted: gone with its log.
    expect((await request(server.url, 'PATCH', `/api/manage/webhooks/${hook.id}`, admin.headers, { enabled: false })).body.webhook.enabled).toBe(false);
    const count = (await deliveries(server, admin, hook.id)).length;
    expect((await saveReview(server, interviewer, attemptId, 'strong-yes')).status).toBe(200);
    expect((await deliveries(server, admin, hook.id)).length).toBe(count);
    expect((await request(server.url, 'DELETE', `/api/manage/webhooks/${hook.id}`, admin.headers)).status).toBe(204);
    expect((await request(server.url, 'GET', `/api/manage/webhooks/${hook.id}/deliveries`, admin.headers)).status).toBe(404);
  });

  it('retries with backoff: a receiver that fails twice gets one success, and the log shows 3 tries', async () => {
    const flaky = await startReceiver((_r, _res, nth) => (nth <= 2 ? 503 : 200));
    try {
      const hook = await register(server, admin, { url: flaky.url, events: ['review.completed'] });
      expect((await saveReview(server, interviewer, attemptId, 'no')).status).toBe(200);
      await flaky.waitFor((all) => all.some((r) => r.status === 200));
      const d = await until(async () => {
        const [one] = await deliveries(server, admin, hook.id);
        return one?.status === 'delivered' ? one : undefined;
      });
      expect(d).toMatchObject({ tries: 3, lastStatus: 200, lastError: null });
      // Give a wrong extra try time to happen: none comes.
      await new Promise((r) => setTimeout(r, 1500));
      expect(flaky.accepted()).toHaveLength(1);
      expect(flaky.received).toHaveLength(3);
      // The same event on every try, each signed.
      expect(new Set(flaky.received.map((r) => r.body.id)).size).toBe(1);
      for (const r of flaky.received) expect(verifyDocumented(hook.secret, r.raw, r.headers['opslab-signature'] as string)).toBe(true);
      // Backoff: the second retry waited longer than the first (0.3 s and 1.2 s, ±20 %).
      const [a, b, c] = flaky.received.map((r) => r.at);
      expect(b! - a!).toBeGreaterThanOrEqual(200);
      expect(c! - b!).toBeGreaterThan(b! - a!);
    } finally {
      await flaky.close();
    }
  });

  it('keeps retrying across a restart: a second server on the same data delivers what the first could not', async () => {
    let up = false;
    const later = await startReceiver(() => (up ? 200 : 500));
    let second: TestServer | undefined;
    try {
      // A slow schedule, so that the restart happens between tries.
      const hook = await register(server, admin, { url: later.url, events: ['review.completed'] });
      expect((await saveReview(server, interviewer, attemptId, 'strong-no')).status).toBe(200);
      await later.waitFor((all) => all.length >= 1);
      await until(async () => ((await deliveries(server, admin, hook.id))[0]?.tries ?? 0) >= 1 || undefined);
      await server.close();
      up = true;
      const triesBefore = later.received.length;
      second = await startTestServer({ dataDir: server.dataDir, env: ENV });
      const ok = await later.waitFor((all) => all.some((r) => r.status === 200));
      expect(ok.length).toBeGreaterThan(triesBefore);
      expect(new Set(ok.map((r) => r.body.id)).size).toBe(1);
      expect(verifyDocumented(hook.secret, ok.at(-1)!.raw, ok.at(-1)!.headers['opslab-signature'] as string)).toBe(true);
      const admin2 = await staffSession(second, 'admin');
      const d = await until(async () => {
        const [one] = await deliveries(second!, admin2, hook.id);
        return one?.status === 'delivered' ? one : undefined;
      });
      expect(d.tries).toBeGreaterThanOrEqual(2);
    } finally {
      await later.close();
      if (second) {
        // The first server's sandboxes and data go with the second (same data directory).
        await second.destroy();
      }
    }
  });
});
