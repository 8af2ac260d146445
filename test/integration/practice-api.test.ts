// Practice mode on a real server and engine: the anonymous practice token, its scope, reset, solution, and how
// practice shares the machine with interviews.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { startTestServer, type TestServer, useTestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { request } from '../helpers/api.js';
import { TestTerminal, stripAnsi } from '../helpers/terminal-client.js';

const FIXTURES = path.join(repoRoot(), 'test/fixtures/unit-exercises');

type Call = Awaited<ReturnType<typeof request>>;

const call = (server: TestServer, method: string, url: string, headers: Record<string, string> = {}, body?: unknown): Promise<Call> =>
  request(server.url, method, url, headers, body);

/** Starts a practice attempt; returns it with the practice cookie (new, or the one given). */
async function practiceStart(server: TestServer, exerciseId: string, cookie?: string) {
  const res = await call(server, 'POST', '/api/attempts', cookie ? { cookie } : {}, { exerciseId });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('opslab_practice='));
  return { res, cookie: cookie ?? set?.split(';')[0] ?? '' };
}

describe('practice mode (real server, real engine)', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES } });

  it('keeps a trainee\'s progress under an anonymous token that opens their attempts only', async () => {
    const empty = await call(server, 'GET', '/api/practice');
    expect(empty.body.enabled).toBe(true);
    expect(empty.body.exercises).toEqual([expect.objectContaining({ exerciseId: 'graded-demo', status: 'not-started', bestScore: null })]);

    const { res, cookie } = await practiceStart(server, 'graded-demo');
    expect(res.status, res.text).toBe(201);
    expect(cookie).toMatch(/^opslab_practice=[A-Za-z0-9_-]{43}$/);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('opslab_practice='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const attempt = res.body.attempt;
    expect(attempt).toMatchObject({ mode: 'practice', checksAllowed: true, hintsAllowed: true });

    // One running practice attempt per trainee.
    const second = await practiceStart(server, 'graded-demo', cookie);
    expect(second.res.status).toBe(409);
    expect(second.res.body.error.code).toBe('OPSLAB_ERR_PRACTICE_LIMIT');

    const progress = await call(server, 'GET', '/api/practice', { cookie });
    expect(progress.body.exercises[0]).toMatchObject({ status: 'in-progress', activeAttemptId: attempt.id });

    // The practice cookie alone opens the trainee's own attempt; another trainee's does not.
    expect((await call(server, 'GET', `/api/attempts/${attempt.id}`, { cookie })).status).toBe(200);
    const other = await practiceStart(server, 'graded-demo');
    expect((await call(server, 'GET', `/api/attempts/${attempt.id}`, { cookie: other.cookie })).status).toBe(404);
    expect((await call(server, 'GET', `/api/attempts/${other.res.body.attempt.id}`, { cookie })).status).toBe(404);
    // Nothing of the interviewer side: staff routes do not know practice tokens.
    for (const url of ['/api/manage/attempts', `/api/manage/attempts/${attempt.id}`, '/api/manage/invites', '/api/manage/users']) {
      expect((await call(server, 'GET', url, { cookie })).status, url).toBe(401);
    }
    // Invites cannot be made or opened with it either.
    expect((await call(server, 'GET', '/api/invite', { cookie })).status).toBe(401);

    // Checks show every check's message in practice, never the interviewer's details.
    const checks = await call(server, 'POST', `/api/attempts/${attempt.id}/checks`, { cookie });
    expect(checks.status, checks.text).toBe(200);
    expect(checks.body.results.checks.find((c: { id: string }) => c.id === 'b').message).toContain('B is not done yet');
    expect(checks.text).not.toContain('interviewer detail');

    // The solution waits until the trainee submits or gives up.
    expect((await call(server, 'GET', `/api/attempts/${attempt.id}/solution`, { cookie })).status).toBe(409);

    // Reset: a fresh sandbox in the initial state, same attempt, clock and terminal.
    const term = await TestTerminal.open(`${server.url}/api/attempts/${attempt.id}/terminal`, { cookie });
    await term.waitFor(/[#$] /);
    term.type('touch /root/left-behind && echo "made""-it"\r');
    await term.waitFor('made-it');
    const reset = await call(server, 'POST', `/api/attempts/${attempt.id}/reset`, { cookie });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.body.attempt.deadline).toBe(attempt.deadline);
    const sandboxAfter = (await server.services.attempts.get(attempt.id))!.sandboxId;
    expect(sandboxAfter).not.toBeNull();
    term.type('\rls /root/left-behind; echo "after""-reset"\r');
    await term.waitFor('after-reset', 20_000);
    expect(stripAnsi(term.text)).toMatch(/No such file or directory/);
    expect(term.controls.some((c) => c.type === 'replaced')).toBe(false);
    const events = server.services.sqlite!.prepare('SELECT kind FROM attempt_events WHERE attempt_id = ?').all(attempt.id) as { kind: string }[];
    expect(events.map((e) => e.kind)).toContain('reset');
    term.close();

    // Give up (submit): solution, every message of the final grading, and the trainee's own recording.
    expect((await call(server, 'POST', `/api/attempts/${attempt.id}/submit`, { cookie })).status).toBe(200);
    const solution = await call(server, 'GET', `/api/attempts/${attempt.id}/solution`, { cookie });
    expect(solution.status, solution.text).toBe(200);
    expect(solution.body.solution.script).toContain('true');
    const grading = await call(server, 'GET', `/api/attempts/${attempt.id}/grading`, { cookie });
    expect(grading.body.grading.checks.find((c: { id: string }) => c.id === 'b').message).toContain('B is not done yet');
    const recording = await call(server, 'GET', `/api/attempts/${attempt.id}/recording`, { cookie });
    expect(recording.text).toContain('sandbox reset');
    const commands = await call(server, 'GET', `/api/attempts/${attempt.id}/commands`, { cookie });
    expect(commands.body.commands.map((c: { command: string }) => c.command)).toEqual(
      expect.arrayContaining([expect.stringContaining('left-behind')]),
    );
    const done = await call(server, 'GET', '/api/practice', { cookie });
    expect(done.body.exercises[0]).toMatchObject({ status: 'done', bestScore: 5, maxScore: 10, activeAttemptId: null });

    await call(server, 'POST', `/api/attempts/${other.res.body.attempt.id}/submit`, { cookie: other.cookie });
  });

  it('gives practice its share of the machine and lets interviews take practice sandboxes back', async () => {
    const small = await startTestServer({
      env: { OPSLAB_EXERCISES_DIR: FIXTURES, OPSLAB_MAX_SANDBOXES: '2', OPSLAB_PRACTICE_MAX_SANDBOXES: '1' },
    });
    try {
      const staff = await staffSession(small, 'interviewer');
      const invite = async () => {
        const res = await call(small, 'POST', '/api/manage/invites', staff.headers, {
          exerciseId: 'graded-demo',
          candidateName: 'C',
          candidateEmail: 'c@example.test',
          showFeedback: true,
        });
        return new URL(res.body.invite.link).hash.slice(1);
      };
      const startInvite = async (token: string) => call(small, 'POST', '/api/invite/start', { authorization: `Bearer ${token}` });

      const trainee = await practiceStart(small, 'graded-demo');
      expect(trainee.res.status).toBe(201);
      // Practice is at its share: another trainee is told to come back, with Retry-After.
      const full = await practiceStart(small, 'graded-demo');
      expect(full.res.status).toBe(503);
      expect(Number(full.res.headers.get('retry-after'))).toBeGreaterThan(0);

      const first = await startInvite(await invite());
      expect(first.status, first.text).toBe(201);
      // The machine is full: the next interview takes the practice sandbox back.
      const second = await startInvite(await invite());
      expect(second.status, second.text).toBe(201);
      const preempted = (await small.services.attempts.get(trainee.res.body.attempt.id))!;
      expect(preempted.endReason).toBe('preempted');
      // Full of interviews: a third is refused, and the running ones carry on.
      const third = await startInvite(await invite());
      expect(third.status).toBe(503);
      expect((await small.services.attempts.get(first.body.attempt.id))!.state).toBe('running');
      expect((await small.services.attempts.get(second.body.attempt.id))!.state).toBe('running');
    } finally {
      await small.destroy();
    }
  });

  it('refuses practice when the operator turned it off', async () => {
    const off = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES, OPSLAB_PRACTICE: 'off' } });
    try {
      expect((await call(off, 'GET', '/api/practice')).body.enabled).toBe(false);
      const res = await practiceStart(off, 'graded-demo');
      expect(res.res.status).toBe(403);
      expect(res.res.body.error.code).toBe('OPSLAB_ERR_PRACTICE_OFF');
    } finally {
      await off.destroy();
    }
  });
});
