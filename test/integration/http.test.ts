import { describe, expect, it } from 'vitest';
import { useTestServer } from '../helpers/server.js';
import { api, startAttempt } from '../helpers/api.js';

describe('HTTP API (real engine)', () => {
  const server = useTestServer();

  it('reports health with the engine state', async () => {
    const res = await api(server.url, 'GET', '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', docker: 'ok' });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('lists exercises and serves one with its instructions', async () => {
    const list = await api(server.url, 'GET', '/api/exercises');
    expect(list.body.exercises.map((e: { id: string }) => e.id)).toContain('shell-warmup');
    const one = await api(server.url, 'GET', '/api/exercises/shell-warmup');
    expect(one.body.exercise.instructions).toContain('# Shell warm-up');
    expect(one.body.exercise.dir).toBeUndefined();
    expect((await api(server.url, 'GET', '/api/exercises/nope-nope')).body.error.code).toBe(
      'OPSLAB_ERR_EXERCISE_NOT_FOUND',
    );
  });

  it.each([
    ['no body', undefined],
    ['wrong type', { exerciseId: 42 }],
    ['missing field', {}],
    ['extra field', { exerciseId: 'shell-warmup', timeLimitSeconds: 99999 }],
  ])('refuses a start with %s (400, clear message, nothing created)', async (_label, body) => {
    const before = server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number };
    const res = await api(server.url, 'POST', '/api/attempts', undefined, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('OPSLAB_ERR_BAD_REQUEST');
    expect(res.body.error.message).toMatch(/\S/);
    const after = server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number };
    expect(after.n).toBe(before.n);
  });

  it('refuses malformed JSON and oversized bodies with 4xx', async () => {
    const bad = await fetch(`${server.url}/api/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"exerciseId":',
    });
    expect(bad.status).toBe(400);
    const huge = await fetch(`${server.url}/api/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: 'x'.repeat(200_000) }),
    });
    expect(huge.status).toBe(413);
  });

  it('rejects path traversal and malformed attempt ids with 400', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', 'a_123', 'A_00000000000000000000']) {
      const res = await api(server.url, 'GET', `/api/attempts/${id}`, 'token');
      expect(res.status, id).toBe(400);
    }
  });

  it('guards attempt routes with the attempt token (header or cookie)', async () => {
    const { attempt, token } = await startAttempt(server.url);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`)).status).toBe(401);
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}`, 'wrong')).status).toBe(404);
    const res = await fetch(`${server.url}/api/attempts/${attempt.id}`, {
      headers: { cookie: `opslab_attempt_${attempt.id}=${token}` },
    });
    expect(res.status).toBe(200);
    const started = await fetch(`${server.url}/api/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ exerciseId: 'shell-warmup' }),
    });
    const cookie = started.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\/api\/attempts\/a_[0-9a-f]{20}/);
    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.body.attempt).toMatchObject({ state: 'archived', endReason: 'submitted' });
    const again = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('OPSLAB_ERR_ATTEMPT_STATE');
  });

  it('serves the web UI shell for page paths and 404 for missing assets', async () => {
    const page = await fetch(`${server.url}/attempts/a_00000000000000000000`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const asset = await fetch(`${server.url}/assets/does-not-exist.js`);
    expect(asset.status).toBe(404);
    const api404 = await api(server.url, 'GET', '/api/nothing-here');
    expect(api404.status).toBe(404);
    expect(api404.body.error.code).toBe('OPSLAB_ERR_NOT_FOUND');
  });
});
