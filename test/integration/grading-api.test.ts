import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { useTestServer } from '../helpers/server.js';
import { TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';

describe('checks, hints and final grading through the API (real engine, real grader)', () => {
  const server = useTestServer({
    env: { OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'test/fixtures/unit-exercises') },
  });

  // Interviews hide the messages of checks marked hidden (test/integration/journeys-api.test.ts); practice,
  // which this attempt is, shows every message. Neither shows the interviewer's details.
  it('runs the checks on demand in the grader, rate-limited, never showing the details', async () => {
    const { attempt, token } = await startAttempt(server.url, 'graded-demo');
    const first = await api(server.url, 'POST', `/api/attempts/${attempt.id}/checks`, token);
    expect(first.status).toBe(200);
    expect(first.body.results).toMatchObject({ kind: 'progress', score: 5, maxScore: 10, error: null });
    expect(first.body.results.checks).toEqual([
      { id: 'a', title: 'Check A', points: 5, advisory: false, verdict: 'pass', message: 'check A passes' },
      { id: 'b', title: 'Check B', points: 5, advisory: false, verdict: 'fail', message: 'B is not done yet' },
    ]);
    expect(first.text).not.toContain('interviewer detail');
    const again = await api(server.url, 'POST', `/api/attempts/${attempt.id}/checks`, token);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('reveals hints one by one, and grades and snapshots at submit before removing the sandbox', async () => {
    const { attempt, token } = await startAttempt(server.url, 'graded-demo');
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    term.type('echo changed-by-candidate > /root/work/notes.txt\r');
    await term.waitFor(() => term.text.includes('changed-by-candidate'));
    await new Promise((r) => setTimeout(r, 300));
    expect((await api(server.url, 'GET', `/api/attempts/${attempt.id}/hints`, token)).body.hints).toEqual({ revealed: [], total: 2 });
    const hint = await api(server.url, 'POST', `/api/attempts/${attempt.id}/hints`, token);
    expect(hint.body.hints).toEqual({ revealed: ['First hint.'], total: 2 });
    const done = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(done.body.attempt).toMatchObject({ state: 'archived', endReason: 'submitted' });
    const final = (await server.services.attempts.finalRun(attempt.id))!;
    expect(final).toMatchObject({ kind: 'final', score: 5, maxScore: 10, error: null });
    expect(final.results.find((r) => r.id === 'b')?.details).toContain('interviewer detail');
    const diff = server.services.attempts.snapshotDiff(attempt.id)!;
    expect(diff.changed).toContainEqual({ path: '/root/work/notes.txt', change: 'added' });
    expect(diff.diff).toContain('+changed-by-candidate');
    term.close();

    // The operator's export of the final grading: JSON with the reviewer's details, and JUnit XML.
    const report = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot(), 'server/src/main.ts'), 'report', attempt.id, ...args], {
        cwd: repoRoot(),
        env: { ...process.env, OPSLAB_DATA_DIR: server.dataDir },
        encoding: 'utf8',
      });
    const json = report();
    expect(json.status, json.stderr).toBe(0);
    const exported = JSON.parse(json.stdout) as { score: number; checks: { id: string; details: string }[]; firstPassed: Record<string, string> };
    expect(exported.score).toBe(5);
    expect(exported.checks.find((c) => c.id === 'b')?.details).toContain('interviewer detail');
    expect(Object.keys(exported.firstPassed)).toEqual(['a']);
    const junit = report('--junit');
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites [^>]*tests="2" failures="1" errors="0"/);
  });
});
