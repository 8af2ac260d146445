// Item 11: past the configured number of sandboxes, new starts get "full, try again" (503 + Retry-After) while
// running attempts are unaffected.
//
// Already proven elsewhere: test/integration/practice-api.test.ts "gives practice its share of the machine and lets
// interviews take practice sandboxes back" (one request at a time: practice refused past its share, an interview
// preempting a practice sandbox, an interview refused when all hold interviews). Added here: bursts of concurrent
// starts at the limit (exactly as many admitted as there is room, never one more, no row or container for the
// refused), and a running candidate's terminal measured before, during and after the bursts.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { docker } from '../helpers/docker.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { figure } from '../helpers/figures.js';
import { attemptCookieToken } from '../helpers/api.js';

const ITEM = '11 capacity';
const MAX = 3;
const PRACTICE_MAX = 2;

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
  ms: number;
  headers: Headers;
}

describe('capacity (real server, real engine)', () => {
  const server = useTestServer({
    env: {
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises'),
      OPSLAB_MAX_SANDBOXES: String(MAX),
      OPSLAB_PRACTICE_MAX_SANDBOXES: String(PRACTICE_MAX),
    },
  });
  let staff: StaffSession;
  let term: TestTerminal;
  let running: { id: string; token: string };
  const refusedMs: number[] = [];

  const post = async (url: string, headers: Record<string, string>, body?: unknown): Promise<Answer> => {
    const t0 = Date.now();
    const res = await fetch(`${server.url}${url}`, {
      method: 'POST',
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const ms = Date.now() - t0;
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (res.status === 503) refusedMs.push(ms);
    return { status: res.status, body: json, retryAfter: res.headers.get('retry-after'), ms, headers: res.headers };
  };
  const practiceStart = () => post('/api/attempts', {}, { exerciseId: 'graded-demo' });
  const newInvite = async () => {
    const res = await fetch(`${server.url}/api/manage/invites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...staff.headers },
      body: JSON.stringify({ exerciseId: 'graded-demo', candidateName: 'C', candidateEmail: 'c@example.test', showFeedback: true }),
    });
    expect(res.status).toBe(201);
    return new URL(((await res.json()) as { invite: { link: string } }).invite.link).hash.slice(1);
  };
  const inviteStart = (token: string) => post('/api/invite/start', { authorization: `Bearer ${token}` });

  /** A full answer of "try again": 503, Retry-After, the capacity code and a message that says so. */
  const expectFull = (a: Answer) => {
    expect(a.status).toBe(503);
    expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(a.body.error.code).toBe('OPSLAB_ERR_CAPACITY');
    expect(a.body.error.message).toMatch(/try again/i);
  };

  /** Round trip of a command on the running candidate's terminal. */
  const echoMs = async () => {
    const n = Math.floor(Math.random() * 1e6);
    const t0 = Date.now();
    term.type(`echo cap-$((${n}+1))\r`);
    await term.waitFor(`cap-${n + 1}`, 20_000);
    return Date.now() - t0;
  };
  const sandboxes = async () =>
    (
      await docker.listContainers({
        filters: { label: [`opslab.instance=${server.services.instance}`, 'opslab.role=sandbox'], status: ['running'] },
      })
    ).length;
  const rows = () => (server.services.sqlite!.prepare('SELECT COUNT(*) AS n FROM attempts').get() as { n: number }).n;

  beforeAll(async () => {
    staff = await staffSession(server, 'interviewer');
    const token = await newInvite();
    const started = await inviteStart(token);
    expect(started.status).toBe(201);
    // The claim set the attempt's own token as the browser's cookie: that is what opens the terminal.
    running = { id: started.body.attempt.id, token: attemptCookieToken(started.headers, started.body.attempt.id) };
    term = await TestTerminal.connect(server.url, running.id, running.token);
    await term.waitFor(() => /# $/.test(stripAnsi(term.text)));
  });
  afterAll(async () => {
    term?.close();
  });

  it(`a burst of 8 practice starts with room for ${PRACTICE_MAX}: exactly ${PRACTICE_MAX} start, the rest hear "full, try again"`, async () => {
    const baseline = [await echoMs(), await echoMs(), await echoMs()];
    const before = rows();
    const [answers, during] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => practiceStart())),
      (async () => {
        const ms: number[] = [];
        for (let i = 0; i < 3; i++) ms.push(await echoMs());
        return ms;
      })(),
    ]);
    const admitted = answers.filter((a) => a.status === 201);
    expect(admitted.length).toBe(PRACTICE_MAX);
    for (const a of answers.filter((x) => x.status !== 201)) expectFull(a);
    // Only the admitted made a row and a container.
    expect(rows()).toBe(before + PRACTICE_MAX);
    expect(await sandboxes()).toBe(MAX);
    expect((await server.services.attempts.get(running.id))!.state).toBe('running');

    figure(ITEM, 'practice burst: admitted / refused', `${admitted.length} / ${answers.length - admitted.length}`);
    figure(ITEM, 'running terminal round trip before the bursts (median of 3)', [...baseline].sort((x, y) => x - y)[1]!, 'ms');
    figure(ITEM, 'running terminal round trip during the practice burst (max of 3)', Math.max(...during), 'ms');
  });

  it('a burst of 6 interview starts on a full machine: two take the practice sandboxes back, four are refused', async () => {
    const practice = server.services.sqlite!
      .prepare("SELECT id FROM attempts WHERE mode = 'practice' AND state = 'running'")
      .all() as { id: string }[];
    expect(practice.length).toBe(PRACTICE_MAX);
    const tokens = await Promise.all(Array.from({ length: 6 }, () => newInvite()));
    const before = rows();
    const answers = await Promise.all(tokens.map((t) => inviteStart(t)));
    const admitted = answers.filter((a) => a.status === 201);
    expect(admitted.length).toBe(PRACTICE_MAX);
    for (const a of answers.filter((x) => x.status !== 201)) expectFull(a);
    for (const p of practice) expect((await server.services.attempts.get(p.id))!.endReason).toBe('preempted');
    expect(rows()).toBe(before + PRACTICE_MAX);
    expect(await sandboxes()).toBe(MAX);
    expect((await server.services.attempts.get(running.id))!.state).toBe('running');
    figure(ITEM, 'interview burst on a full machine: admitted (preempting practice) / refused', `${admitted.length} / ${answers.length - admitted.length}`);
  });

  it('50 more starts, every one refused quickly, while the running candidate types on', async () => {
    const before = rows();
    const t0 = Date.now();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => newInvite()));
    const [answers, during] = await Promise.all([
      Promise.all([...Array.from({ length: 40 }, () => practiceStart()), ...tokens.map((t) => inviteStart(t))]),
      (async () => {
        const ms: number[] = [];
        for (let i = 0; i < 3; i++) ms.push(await echoMs());
        return ms;
      })(),
    ]);
    const burstMs = Date.now() - t0;
    for (const a of answers) expectFull(a);
    expect(rows()).toBe(before);
    expect(await sandboxes()).toBe(MAX);
    // The running candidate's shell was never held up for good, and keeps its state.
    term.type('echo still-$((6*7))\r');
    await term.waitFor('still-42');
    expect((await server.services.attempts.get(running.id))!.state).toBe('running');

    const sorted = [...refusedMs].sort((x, y) => x - y);
    figure(ITEM, 'refused starts in all', refusedMs.length);
    figure(ITEM, '503 answer time, median / max', `${sorted[Math.floor(sorted.length / 2)]} / ${sorted[sorted.length - 1]}`, 'ms');
    figure(ITEM, '50 concurrent refused starts answered in', burstMs, 'ms');
    figure(ITEM, 'running terminal round trip during 50 refused starts (max of 3)', Math.max(...during), 'ms');
    figure(ITEM, 'sandboxes running at the end (the configured maximum)', await sandboxes());
  });
});
