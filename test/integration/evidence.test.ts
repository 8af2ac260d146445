// The evidence of an attempt outlives whatever breaks at its end: a boot script that hangs, a grader that dies
// half-way, a server killed during the final grading. Each time the final snapshot and its diff are in place, and
// a regrade (staff, from the stored snapshot) produces a grade, kept beside the first in the grading history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { api, startAttempt } from '../helpers/api.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { shellRun } from '../helpers/sandbox-probe.js';
import { freePort, ServerProcess } from '../helpers/server-process.js';
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { TestTerminal } from '../helpers/terminal-client.js';

/** An exercise whose checks read the workspace; `slow` leaves time to break things while the grader runs. */
function writeExercise(root: string): void {
  const dir = path.join(root, 'evidence-demo');
  fs.mkdirSync(path.join(dir, 'checks'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'workspace'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'solution'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'exercise.yaml'),
    [
      'id: evidence-demo',
      'title: Evidence demo',
      'summary: Write the answer.',
      'difficulty: easy',
      'timeLimitMinutes: 10',
      'image: base',
      'checks:',
      '  - id: answer',
      '    title: answer.txt says 42',
      '    points: 5',
      '  - id: slow',
      '    title: takes its time',
      '    points: 1',
      '    initially: any',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'README.md'), 'Write 42 into answer.txt.\n');
  fs.writeFileSync(path.join(dir, 'workspace', 'answer.txt'), 'todo\n');
  const exe = (rel: string, text: string) => fs.writeFileSync(path.join(dir, rel), text, { mode: 0o755 });
  exe('checks/answer', '#!/bin/sh\ngrep -qx 42 "$WORKSPACE/answer.txt" && exit 0\necho "answer.txt does not say 42"\nexit 1\n');
  exe('checks/slow', '#!/bin/sh\nsleep 6\nexit 0\n');
  exe('solution/apply', '#!/bin/sh\necho 42 > answer.txt\n');
}

/** Resolves with the id of the attempt's grader container as soon as one exists. */
async function graderOf(attemptId: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.attempt}=${attemptId}`, `${LABELS.role}=grader`] } });
    if (list[0]) return list[0].Id;
    if (Date.now() > deadline) throw new Error(`no grader container for ${attemptId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const finalOf = (srv: TestServer, attemptId: string) => new GradingRepo(srv.services.sql).final(attemptId);

const until = async (test: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

describe('evidence first, and regrading (real server, real engine)', () => {
  let exercises: string;
  let server: TestServer;

  beforeAll(async () => {
    await requireDocker();
    exercises = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-evidence-exercises-'));
    writeExercise(exercises);
    server = await startTestServer({ env: { OPSLAB_EXERCISES_DIR: exercises } });
  });
  afterAll(async () => {
    await server?.destroy();
    fs.rmSync(exercises, { recursive: true, force: true });
  });

  const regrade = async (srv: TestServer, attemptId: string) => {
    const admin = await staffSession(srv, 'admin');
    const res = await fetch(`${srv.url}/api/manage/attempts/${attemptId}/regrade`, { method: 'POST', headers: admin.headers });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { gradings: { current: boolean; score: number; maxScore: number; error: string | null; source: string; changes: { id: string; to: string | null }[] }[] }).gradings;
  };

  it('a boot script that hangs does not keep the attempt from its snapshot, diff and grade', async () => {
    const { attempt, token } = await startAttempt(server.url, 'evidence-demo');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await shellRun(term, `echo 42 > /root/work/answer.txt && mkdir -p /etc/opslab && printf '#!/bin/sh\\nsleep 3600\\n' > /etc/opslab/boot && chmod +x /etc/opslab/boot && echo planted`);
    // The shell ends, the container stops: a grading that started it again would run the boot script first.
    term.type('exit\r');
    await term.waitFor(() => term.controls.some((c) => c.type === 'shell-exited'), 30_000);
    term.close();
    const t0 = Date.now();
    const res = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(res.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const final = (await finalOf(server, attempt.id))!;
    expect(final.error).toBeNull();
    expect(final.source).toBe('snapshot');
    expect(final.results.find((r) => r.id === 'answer')?.verdict).toBe('pass');
    expect(server.services.attempts.snapshotDiff(attempt.id)?.changed).toContainEqual({ path: '/root/work/answer.txt', change: 'modified' });
  }, 120_000);

  it('a grader that dies half-way leaves the snapshot and diff, and a regrade grades from them', async () => {
    const { attempt, token } = await startAttempt(server.url, 'evidence-demo');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await shellRun(term, 'echo 42 > /root/work/answer.txt && echo written');
    term.close();
    // The grader is removed while it runs (its `slow` check leaves 6 s). Once, on a busy machine, it was gone by the
    // time the removal reached the engine (why is not known): a 404 is taken as the same death, and the assertions
    // below still require a broken grading.
    const killer = graderOf(attempt.id)
      .then((id) => docker.getContainer(id).remove({ force: true }))
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    const res = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    await killer;
    expect(res.status).toBe(200);
    // Broken either as a whole or check by check (the checks whose exec the removal cut end in `error`).
    const broken = (await finalOf(server, attempt.id))!;
    expect(broken.error !== null || broken.results.some((r) => r.verdict === 'error'), JSON.stringify(broken)).toBe(true);
    expect(server.services.attempts.snapshotDiff(attempt.id)?.changed).toContainEqual({ path: '/root/work/answer.txt', change: 'modified' });
    // The sandbox is gone; the regrade reads the stored snapshot.
    expect((await server.services.attempts.get(attempt.id))!.state).toBe('archived');
    const gradings = await regrade(server, attempt.id);
    expect(gradings).toHaveLength(2);
    const current = gradings.find((g) => g.current)!;
    expect(current).toMatchObject({ error: null, score: 6, maxScore: 6, source: 'snapshot' });
    expect(current.changes.length).toBeGreaterThan(0);
    expect(current.changes.every((c) => c.to === 'pass')).toBe(true);
    const bundle = await server.services.reviews.bundle(attempt.id, 'nobody');
    expect(bundle.grading?.score).toBe(6);
    expect((await new AttemptsRepo(server.services.sql).events(attempt.id)).map((e) => e.kind)).toContain('regraded');
  }, 120_000);

  it('a server killed during the final grading: the snapshot was kept, the next server grades, a regrade works', async () => {
    const dataDir = tempDataDir();
    const proc = new ServerProcess(await freePort(), dataDir, { OPSLAB_EXERCISES_DIR: exercises });
    let second: TestServer | undefined;
    // The killed server's grader: its own process carries no test label, so the teardown would not find it.
    let orphan: string | null = null;
    try {
      await proc.start();
      const { attempt, token } = await startAttempt(proc.url, 'evidence-demo');
      const term = await TestTerminal.connect(proc.url, attempt.id, token);
      await shellRun(term, 'echo 42 > /root/work/answer.txt && echo written');
      term.close();
      const submitting = api(proc.url, 'POST', `/api/attempts/${attempt.id}/submit`, token).catch(() => null);
      orphan = await graderOf(attempt.id);
      await proc.stop('SIGKILL');
      await submitting;
      // Taken before the grader started: on disk although the grading never finished.
      expect(fs.existsSync(path.join(dataDir, 'snapshots', attempt.id, 'final.tar'))).toBe(true);
      expect(proc.query<{ n: number }>("SELECT COUNT(*) AS n FROM grading_runs WHERE attempt_id = ? AND kind = 'final'", attempt.id)[0]!.n).toBe(0);

      second = await startTestServer({ dataDir, env: { OPSLAB_EXERCISES_DIR: exercises } });
      const srv = second;
      await until(async () => (await finalOf(srv, attempt.id)) !== undefined, 90_000, 'the final grading after the restart');
      expect(await finalOf(srv, attempt.id)).toMatchObject({ error: null, score: 6 });
      expect(srv.services.attempts.snapshotDiff(attempt.id)?.changed).toContainEqual({ path: '/root/work/answer.txt', change: 'modified' });
      const gradings = await regrade(srv, attempt.id);
      expect(gradings).toHaveLength(2);
      expect(gradings[1]).toMatchObject({ current: true, error: null, score: 6, changes: [] });
    } finally {
      await second?.destroy();
      await proc.destroy();
      if (orphan) await docker.getContainer(orphan).remove({ force: true }).catch(() => undefined);
    }
  }, 240_000);
});
