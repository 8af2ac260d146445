// Item 21: practice must not reveal interview material. Practice shows every check message, the hints and the
// reference solution, and anyone who can reach the server may practise; an exercise used for hiring is therefore
// offered in interviews only (exercise.yaml `modes: [interview]`) unless the operator says otherwise
// (OPSLAB_PRACTICE_EXERCISES), and the invite's landing page tells no more than the operator allows
// (OPSLAB_INVITE_LANDING).
//
// Proven here, on the shipped exercises, a real server and the real engine:
// - by default the three hiring exercises are absent from the public catalog and from the trainee's progress, and
//   every practice route answers for them exactly as for an exercise that does not exist (404, same code and
//   message): the start, the exercise's page, and on a practice attempt of one (started while the operator had
//   allowed it, then taken back) its instructions, hints (read and reveal), checks, grading and solution;
// - OPSLAB_PRACTICE_EXERCISES=all gives every one of those back; a list naming an exercise the catalog does not hold
//   stops the server with a message naming the variable;
// - an invite can be made for an interview exercise only;
// - OPSLAB_INVITE_LANDING=minimal: neither the answer of GET /api/invite nor the landing page in Chromium holds the
//   exercise's id, title or summary, only the time limit; once started, the workspace still gets the instructions.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../server/src/config.js';
import { repoRoot } from '../../server/src/paths.js';
import { launchBrowser, screenshot } from '../e2e/browser.js';
import { attemptCookieToken, request } from '../helpers/api.js';
import { requireDocker } from '../helpers/docker.js';
import { figure } from '../helpers/figures.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';

const ITEM = '21 practice modes';
const HIRING = ['ci-triage', 'latency-slo', 'terraform-review'] as const;
/** The hiring exercise a practice attempt is started of (the lightest sandbox of the three). */
const PRACTISED = 'terraform-review';
const UNKNOWN = 'no-such-exercise';

type Headers = Record<string, string>;

const call = (server: TestServer, method: string, url: string, headers: Headers = {}, body?: unknown) => request(server.url, method, url, headers, body);

/** The routes through which practice reveals an exercise, for a practice attempt. */
const REVEALING = (id: string): [string, string][] => [
  ['GET', `/api/attempts/${id}/exercise`],
  ['GET', `/api/attempts/${id}/hints`],
  ['POST', `/api/attempts/${id}/hints`],
  ['POST', `/api/attempts/${id}/checks`],
  ['GET', `/api/attempts/${id}/grading`],
  ['GET', `/api/attempts/${id}/solution`],
];

describe('practice modes: interview exercises stay out of practice (real server, real engine)', () => {
  const dataDir = tempDataDir();
  const servers: TestServer[] = [];
  let refused = 0;
  const start = async (env: Record<string, string> = {}) => {
    const server = await startTestServer({ dataDir, env });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    await requireDocker();
  });
  afterAll(async () => {
    // Every server shares the data directory: close them all, then remove what the last one sees.
    const last = servers.pop();
    for (const s of servers) await s.close().catch(() => undefined);
    if (last) await last.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
    figure(ITEM, 'practice answers refused for hiring exercises (404, as unknown)', refused);
  });

  /** A refusal for a hiring exercise: the 404 an unknown exercise gets, with the same code. */
  const absent = async (server: TestServer, method: string, url: string, headers: Headers = {}, body?: unknown) => {
    const res = await call(server, method, url, headers, body);
    expect(res.status, `${method} ${url}: ${res.text.slice(0, 300)}`).toBe(404);
    expect(res.body?.error?.code, `${method} ${url}`).toBe('OPSLAB_ERR_EXERCISE_NOT_FOUND');
    refused++;
    return res;
  };

  it('by default: absent from the catalog, the progress and every practice route; `all` gives them back', async () => {
    // The default: the hiring exercises are not practice's.
    let server = await start();
    // Exactly the exercises whose exercise.yaml offers them to practice (shell-warmup, artifact-retention, ...).
    const declared = server.services.catalog
      .list()
      .filter((e) => e.modes.includes('practice'))
      .map((e) => e.id)
      .sort();
    expect(declared).toContain('shell-warmup');
    for (const id of HIRING) expect(declared).not.toContain(id);
    const catalog = await call(server, 'GET', '/api/exercises');
    expect(catalog.body.exercises.map((e: { id: string }) => e.id).sort()).toEqual(declared);
    const progress = await call(server, 'GET', '/api/practice');
    expect(progress.body.exercises.map((e: { exerciseId: string }) => e.exerciseId).sort()).toEqual(declared);
    figure(ITEM, 'hiring exercises in the default practice catalog', HIRING.filter((id) => catalog.text.includes(id)).length);
    for (const text of [catalog.text, progress.text]) for (const id of HIRING) expect(text).not.toContain(id);

    const unknownStart = await call(server, 'POST', '/api/attempts', {}, { exerciseId: UNKNOWN });
    const unknownPage = await call(server, 'GET', `/api/exercises/${UNKNOWN}`);
    expect([unknownStart.status, unknownPage.status]).toEqual([404, 404]);
    const attemptsBefore = server.services.sqlite!.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number };
    for (const id of HIRING) {
      // Word for word what an exercise that does not exist gets: the name is not confirmed.
      const start = await absent(server, 'POST', '/api/attempts', {}, { exerciseId: id });
      expect(start.body.error.message).toBe(unknownStart.body.error.message.replace(UNKNOWN, id));
      const page = await absent(server, 'GET', `/api/exercises/${id}`);
      expect(page.body.error.message).toBe(unknownPage.body.error.message.replace(UNKNOWN, id));
    }
    expect((server.services.sqlite!.prepare('SELECT count(*) AS n FROM attempts').get() as { n: number }).n).toBe(attemptsBefore.n);

    // The operator allows every exercise in practice: a trainee starts the hiring exercise and reads its material.
    await server.close();
    server = await start({ OPSLAB_PRACTICE_EXERCISES: 'all' });
    const listed = (await call(server, 'GET', '/api/exercises')).body.exercises.map((e: { id: string }) => e.id);
    for (const id of HIRING) expect(listed, 'all: listed').toContain(id);
    const started = await call(server, 'POST', '/api/attempts', {}, { exerciseId: PRACTISED });
    expect(started.status, started.text).toBe(201);
    const attemptId: string = started.body.attempt.id;
    const cookie = started.headers.getSetCookie().find((c) => c.startsWith('opslab_practice='))!.split(';')[0]!;
    const trainee = { cookie };
    const hint = await call(server, 'POST', `/api/attempts/${attemptId}/hints`, trainee);
    expect(hint.status, hint.text).toBe(200);
    expect(hint.body.hints.revealed[0]).toContain('CONVENTIONS.md');
    expect((await call(server, 'GET', `/api/attempts/${attemptId}/exercise`, trainee)).body.exercise.instructions).toMatch(/\S/);
    const checks = await call(server, 'POST', `/api/attempts/${attemptId}/checks`, trainee);
    expect(checks.status, checks.text).toBe(200);
    // Practice shows every check's message, hidden ones included: what an interview keeps from the candidate.
    const hidden = server.services.catalog.get(PRACTISED)!.checks.filter((c) => !c.visible).map((c) => c.id);
    const messages = checks.body.results.checks.filter((c: { id: string; message: string | null }) => hidden.includes(c.id) && c.message);
    figure(ITEM, `hidden check messages a trainee reads with OPSLAB_PRACTICE_EXERCISES=all (${PRACTISED})`, messages.length);
    await server.close();

    // Back to the default: the trainee who practised it while it was allowed gets no further.
    server = await start();
    const mine = await call(server, 'GET', '/api/practice', trainee);
    expect(mine.body.exercises.map((e: { exerciseId: string }) => e.exerciseId).sort()).toEqual(declared);
    await absent(server, 'POST', '/api/attempts', trainee, { exerciseId: PRACTISED });
    // The practice attempt started while it was allowed reveals nothing more, running or ended.
    for (const [method, url] of REVEALING(attemptId)) await absent(server, method, url, trainee);
    // Their own work stays theirs: the attempt, and submitting it.
    expect((await call(server, 'GET', `/api/attempts/${attemptId}`, trainee)).status).toBe(200);
    const submitted = await call(server, 'POST', `/api/attempts/${attemptId}/submit`, trainee);
    expect(submitted.status, submitted.text).toBe(200);
    for (const [method, url] of REVEALING(attemptId)) await absent(server, method, url, trainee);
    figure(ITEM, 'practice routes refused for a practice attempt of a hiring exercise', REVEALING(attemptId).length * 2);

    // Practice turned off altogether: nothing is listed, the material stays closed.
    await server.close();
    server = await start({ OPSLAB_PRACTICE: 'off', OPSLAB_PRACTICE_EXERCISES: 'all' });
    expect((await call(server, 'GET', '/api/exercises')).body.exercises).toEqual([]);
    await absent(server, 'GET', `/api/attempts/${attemptId}/solution`, trainee);

    // `all` again: the solution of the ended attempt, and its grading, are there.
    await server.close();
    server = await start({ OPSLAB_PRACTICE_EXERCISES: 'all' });
    const solution = await call(server, 'GET', `/api/attempts/${attemptId}/solution`, trainee);
    expect(solution.status, solution.text).toBe(200);
    expect(solution.body.solution.script).toMatch(/\S/);
    expect((await call(server, 'GET', `/api/attempts/${attemptId}/grading`, trainee)).status).toBe(200);
    expect((await call(server, 'GET', `/api/exercises/${PRACTISED}`)).status).toBe(200);
  }, 300_000);

  it('a list naming an exercise the catalog does not hold stops the server, naming the variable', async () => {
    const dir = tempDataDir();
    const err = await startTestServer({ dataDir: dir, env: { OPSLAB_PRACTICE_EXERCISES: 'shell-warmup,ci-triag' } }).then(
      async (s) => (await s.destroy(), null),
      (e: unknown) => e,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/OPSLAB_PRACTICE_EXERCISES="shell-warmup,ci-triag".*"ci-triag" is not one/);
  });
});

describe('practice modes: invites and the landing page (real server, real engine)', () => {
  let server: TestServer;
  let exercisesDir: string;

  beforeAll(async () => {
    await requireDocker();
    // The shipped exercises, and one offered in practice only.
    exercisesDir = tempDataDir();
    for (const id of [...HIRING, 'shell-warmup']) {
      fs.cpSync(path.join(repoRoot(), 'exercises', id), path.join(exercisesDir, id), { recursive: true });
    }
    const drill = path.join(exercisesDir, 'warmup-drill');
    fs.cpSync(path.join(repoRoot(), 'exercises', 'shell-warmup'), drill, { recursive: true });
    const yaml = fs.readFileSync(path.join(drill, 'exercise.yaml'), 'utf8');
    fs.writeFileSync(
      path.join(drill, 'exercise.yaml'),
      yaml.replace(/^id: .*$/m, 'id: warmup-drill').replace(/^modes: .*$/m, 'modes: [practice]'),
    );
    server = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: exercisesDir, OPSLAB_INVITE_LANDING: 'minimal' } });
  });
  afterAll(async () => {
    await server?.destroy();
    if (exercisesDir) fs.rmSync(exercisesDir, { recursive: true, force: true });
  });

  let staff: StaffSession;
  const invite = (exerciseId: string) =>
    call(server, 'POST', '/api/manage/invites', staff.headers, {
      exerciseId,
      candidateName: 'Casey Candidate',
      candidateEmail: 'casey@example.test',
      showFeedback: false,
    });

  it('invites only for exercises offered in interviews; staff see where each is offered', async () => {
    staff ??= await staffSession(server, 'interviewer');
    expect(server.services.catalog.get('warmup-drill')?.modes).toEqual(['practice']);
    const practiceOnly = await invite('warmup-drill');
    expect(practiceOnly.status, practiceOnly.text).toBe(400);
    expect(practiceOnly.body.error.message).toContain('not offered in interviews');
    const staffList = await call(server, 'GET', '/api/manage/exercises', staff.headers);
    expect(staffList.body.exercises.find((e: { id: string }) => e.id === 'ci-triage')).toMatchObject({ modes: ['interview'], practice: false });
    expect((await call(server, 'GET', '/api/manage/exercises')).status).toBe(401);
  });

  it('the minimal landing names no exercise; once started, the workspace still has the instructions', async () => {
    staff ??= await staffSession(server, 'interviewer');
    const browser = await launchBrowser();
    try {
      for (const id of ['ci-triage', 'shell-warmup']) {
        const created = await invite(id);
        expect(created.status, created.text).toBe(201);
        const link: string = created.body.invite.link;
        const token = new URL(link).hash.slice(1);
        const exercise = server.services.catalog.get(id)!;
        const secrets = [id, exercise.title, exercise.summary];

        const landing = await call(server, 'GET', '/api/invite', { authorization: `Bearer ${token}` });
        expect(landing.status, landing.text).toBe(200);
        expect(landing.body.invite.exercise).toBeNull();
        expect(landing.body.invite.timeLimitSeconds).toBe(exercise.timeLimitMinutes * 60);
        for (const secret of secrets) expect(landing.text, `GET /api/invite holds "${secret}"`).not.toContain(secret);

        const page = await browser.newPage();
        await page.goto(link);
        await page.locator('[data-testid="invite-page"][data-state="pending"]').waitFor();
        const shown = await page.locator('body').innerText();
        const html = await page.content();
        for (const secret of secrets) {
          expect(shown, `the landing page shows "${secret}"`).not.toContain(secret);
          expect(html, `the landing page's document holds "${secret}"`).not.toContain(secret);
        }
        expect(await page.getByTestId('invite-time-limit').innerText()).toMatch(/\d/);
        if (id === 'ci-triage') await screenshot(page, 'invite-landing-minimal');
        if (id === 'ci-triage') figure(ITEM, 'minimal landing: exercise id, title or summary shown', secrets.filter((s) => shown.includes(s) || html.includes(s)).length);
        await page.close();

        if (id === 'shell-warmup') {
          // Once the clock runs, the workspace gets the instructions from the attempt, as before.
          const started = await call(server, 'POST', '/api/invite/start', { authorization: `Bearer ${token}` });
          expect(started.status, started.text).toBe(201);
          // The browser that started holds the attempt's own token (its cookie); the link is only a claim.
          const attemptToken = attemptCookieToken(started.headers, started.body.attempt.id);
          const ex = await call(server, 'GET', `/api/attempts/${started.body.attempt.id}/exercise`, { authorization: `Bearer ${attemptToken}` });
          expect(ex.status, ex.text).toBe(200);
          expect(ex.body.exercise).toMatchObject({ id, title: exercise.title, instructions: exercise.instructions });
        }
      }
    } finally {
      await browser.close();
    }
  }, 180_000);
});
