// Advisory checks through the real server, engine and SQLite file: the grade leaves an advisory check's points
// out until a reviewer confirms it; confirming, overriding and withdrawing change the grade everywhere it is
// shown (review bundle, history, dashboard, reports), each change is in the audit log, bad requests are refused
// with clear errors, and a confirmation outlives a regrade, which says so when the grader's verdict changed.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { toJUnitXml } from '../../server/src/grading/report.js';
import { api, startAttempt } from '../helpers/api.js';
import { staffSession, type StaffSession } from '../helpers/staff.js';
import { useTestServer } from '../helpers/server.js';

const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'exercises-advisory');

describe('advisory checks: confirmations API', () => {
  const server = useTestServer({ env: { OPSLAB_EXERCISES_DIR: FIXTURES } });
  let staff: StaffSession;
  let other: StaffSession;

  beforeAll(async () => {
    staff = await staffSession(server, 'interviewer', 'Robin Reviewer');
    other = await staffSession(server, 'interviewer', 'Casey Colleague');
  }, 60_000);
  const manage = async (who: StaffSession | null, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { ...(who?.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null };
  };
  const confirmation = (id: string, check: string) => `/api/manage/attempts/${id}/checks/${check}/confirmation`;
  const auditOf = async (id: string) =>
    (await server.services.auth.auditEntries(1000))
      .filter((e) => e.attemptId === id && e.action.startsWith('check.'))
      .reverse();

  it('confirms, overrides and withdraws, with the grade, the audit log and the refusals to match', async () => {
    const started = await startAttempt(server.url, 'advisory-demo');
    const id = started.attempt.id;

    // Not graded yet: nothing to confirm.
    const early = await manage(staff, 'PUT', confirmation(id, 'plan'), { verdict: 'pass' });
    expect(early.status, early.text).toBe(409);
    expect(early.body.error.code).toBe('OPSLAB_ERR_NOT_GRADED');

    expect((await api(server.url, 'POST', `/api/attempts/${id}/submit`, started.token)).status).toBe(200);
    const before = await manage(staff, 'GET', `/api/manage/attempts/${id}`);
    expect(before.status).toBe(200);
    // hello passes (5), answer fails (2), plan passes at the grader (3) but is advisory: 5/7, 3 pending.
    expect(before.body.grading).toMatchObject({ score: 5, maxScore: 7, pendingPoints: 3 });
    const plan = before.body.grading.checks.find((c: { id: string }) => c.id === 'plan');
    expect(plan).toMatchObject({ advisory: true, verdict: 'pass', confirmation: null, visible: false });
    expect(before.body.grading.checks.find((c: { id: string }) => c.id === 'hello')).toMatchObject({ advisory: false, confirmation: null });
    expect(before.body.gradings).toEqual([expect.objectContaining({ score: 5, maxScore: 7, pendingPoints: 3, current: true })]);
    const listed = await manage(staff, 'GET', '/api/manage/attempts?mode=practice&exerciseId=advisory-demo');
    expect(listed.body.attempts.find((a: { id: string }) => a.id === id)).toMatchObject({ score: 5, maxScore: 7, pendingPoints: 3 });

    // The trainee sees the check as advisory, its points pending, never a reviewer's decision.
    const own = await api(server.url, 'GET', `/api/attempts/${id}/grading`, started.token);
    expect(own.body.grading).toMatchObject({ score: 5, maxScore: 7, pendingPoints: 3 });
    expect(own.body.grading.checks.find((c: { id: string }) => c.id === 'plan')).toMatchObject({ advisory: true, verdict: 'pass' });
    const exercise = await api(server.url, 'GET', '/api/exercises/advisory-demo');
    expect(exercise.body.exercise.checks.map((c: { advisory: boolean }) => c.advisory)).toEqual([false, true, false]);

    // Refusals: each with a clear code, nothing changed.
    const refusals: [StaffSession | null, string, string, unknown, number, string][] = [
      [null, 'PUT', confirmation(id, 'plan'), { verdict: 'pass' }, 401, 'OPSLAB_ERR_UNAUTHORIZED'],
      [staff, 'PUT', confirmation('a_00000000000000000000', 'plan'), { verdict: 'pass' }, 404, 'OPSLAB_ERR_ATTEMPT_NOT_FOUND'],
      [staff, 'PUT', confirmation(id, 'no-such-check'), { verdict: 'pass' }, 404, 'OPSLAB_ERR_CHECK_NOT_FOUND'],
      [staff, 'PUT', confirmation(id, 'hello'), { verdict: 'fail' }, 409, 'OPSLAB_ERR_NOT_ADVISORY'],
      [staff, 'DELETE', confirmation(id, 'answer'), undefined, 409, 'OPSLAB_ERR_NOT_ADVISORY'],
      [staff, 'PUT', confirmation(id, 'Bad_Id'), { verdict: 'pass' }, 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [staff, 'PUT', confirmation(id, 'plan'), { verdict: 'maybe' }, 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [staff, 'PUT', confirmation(id, 'plan'), { verdict: 'pass', score: 3 }, 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [staff, 'PUT', confirmation(id, 'plan'), { verdict: 'pass', comment: 'x'.repeat(2001) }, 400, 'OPSLAB_ERR_BAD_REQUEST'],
      [staff, 'PUT', confirmation(id, 'plan'), {}, 400, 'OPSLAB_ERR_BAD_REQUEST'],
    ];
    for (const [who, method, url, body, status, code] of refusals) {
      const res = await manage(who, method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}: ${res.text}`).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(/\S{3}/);
    }
    expect(await auditOf(id)).toEqual([]);
    expect((await manage(staff, 'GET', `/api/manage/attempts/${id}`)).body.grading).toMatchObject({ score: 5, maxScore: 7, pendingPoints: 3 });

    // Confirm the grader's pass: the 3 points count, earned.
    const confirmed = await manage(staff, 'PUT', confirmation(id, 'plan'), { verdict: 'pass', comment: '  Zone by zone, with a rollback.  ' });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body.grading).toMatchObject({ score: 8, maxScore: 10, pendingPoints: 0 });
    const planNow = confirmed.body.grading.checks.find((c: { id: string }) => c.id === 'plan');
    expect(planNow.confirmation).toMatchObject({
      verdict: 'pass',
      graderVerdict: 'pass',
      graderChanged: false,
      comment: 'Zone by zone, with a rollback.',
      by: { id: staff.user.id, name: 'Robin Reviewer' },
    });
    expect(Date.parse(planNow.confirmation.at)).toBeGreaterThan(Date.now() - 60_000);

    // Another interviewer overrides it to fail: counted, not earned.
    const overridden = await manage(other, 'PUT', confirmation(id, 'plan'), { verdict: 'fail', comment: 'No canary.' });
    expect(overridden.status, overridden.text).toBe(200);
    expect(overridden.body.grading).toMatchObject({ score: 5, maxScore: 10, pendingPoints: 0 });
    expect(overridden.body.grading.checks.find((c: { id: string }) => c.id === 'plan').confirmation).toMatchObject({
      verdict: 'fail',
      graderVerdict: 'pass',
      by: { name: 'Casey Colleague' },
    });

    // Everywhere the grade shows: the history, the dashboard (its score filter too), the stored run, the reports.
    const bundle = (await manage(staff, 'GET', `/api/manage/attempts/${id}`)).body;
    expect(bundle.gradings[0]).toMatchObject({ score: 5, maxScore: 10, pendingPoints: 0 });
    const list = await manage(staff, 'GET', '/api/manage/attempts?mode=practice&exerciseId=advisory-demo');
    expect(list.body.attempts.find((a: { id: string }) => a.id === id)).toMatchObject({ score: 5, maxScore: 10, pendingPoints: 0 });
    // 50 %: inside 50..50; it was 71 % (5/7) before the override.
    const filtered = await manage(staff, 'GET', '/api/manage/attempts?mode=practice&minScore=50&maxScore=50');
    expect(filtered.body.attempts.map((a: { id: string }) => a.id)).toContain(id);
    const grading = new GradingRepo(server.services.sql);
    expect(await grading.final(id)).toMatchObject({ score: 5, maxScore: 10 });
    const exported = await manage(staff, 'GET', `/api/manage/attempts/${id}/export.json`);
    expect(exported.body.bundle.grading).toMatchObject({ score: 5, maxScore: 10, pendingPoints: 0 });
    const html = await fetch(`${server.url}/api/manage/attempts/${id}/export.html`, { headers: staff.headers }).then((r) => r.text());
    expect(html).toContain('advisory: overridden to fail by Casey Colleague (the grader said pass)');
    const run = (await grading.final(id))!;
    const junit = toJUnitXml(
      { ...run, startedAt: '', finishedAt: '', durationMs: 0, phases: { graderStartMs: 0, copyMs: 0, cleanroomMs: 0, checksMs: 0 } },
      { suiteName: 'advisory-demo', confirmations: (await grading.confirmations.verdicts(id)) },
    );
    expect(junit).toContain('<property name="score" value="5"/>');
    expect(junit).toContain('<property name="maxScore" value="10"/>');

    // A regrade keeps the decision; a newer grading whose verdict differs from the one decided on says so.
    const regraded = await manage(staff, 'POST', `/api/manage/attempts/${id}/regrade`);
    expect(regraded.status, regraded.text).toBe(200);
    expect(regraded.body.gradings.map((g: { score: number; maxScore: number }) => `${g.score}/${g.maxScore}`)).toEqual(['5/10', '5/10']);
    const latest = (await grading.final(id))!;
    await grading.insert({
      ...latest,
      results: latest.results.map((r) => (r.id === 'plan' ? { ...r, verdict: 'fail' as const, message: 'PLAN.md names no rollback.' } : r)),
      requestedBy: staff.user.id,
    });
    const changed = (await manage(staff, 'GET', `/api/manage/attempts/${id}`)).body;
    expect(changed.grading).toMatchObject({ score: 5, maxScore: 10, pendingPoints: 0 });
    expect(changed.grading.checks.find((c: { id: string }) => c.id === 'plan')).toMatchObject({
      verdict: 'fail',
      confirmation: { verdict: 'fail', graderVerdict: 'pass', graderChanged: true },
    });
    expect(changed.gradings.at(-1).changes).toEqual([{ id: 'plan', title: 'PLAN.md makes a sound rollout plan', from: 'pass', to: 'fail' }]);

    // Withdrawn: pending again, everywhere; withdrawing again changes nothing and writes nothing.
    const withdrawn = await manage(staff, 'DELETE', confirmation(id, 'plan'));
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.body.grading).toMatchObject({ score: 5, maxScore: 7, pendingPoints: 3 });
    expect(withdrawn.body.grading.checks.find((c: { id: string }) => c.id === 'plan').confirmation).toBeNull();
    expect((await grading.finals(id)).map((r) => `${r.score}/${r.maxScore}`)).toEqual(['5/7', '5/7', '5/7']);
    expect((await manage(staff, 'DELETE', confirmation(id, 'plan'))).status).toBe(200);

    // The audit log: who did what, with the grader's verdict and the previous decision.
    const audit = await auditOf(id);
    expect(audit.map((e) => [e.action, e.user?.id])).toEqual([
      ['check.confirm', staff.user.id],
      ['check.confirmation.change', other.user.id],
      ['check.confirmation.withdraw', staff.user.id],
    ]);
    expect(audit[0]!.detail).toMatchObject({ checkId: 'plan', verdict: 'pass', graderVerdict: 'pass', override: false });
    expect(audit[1]!.detail).toMatchObject({
      checkId: 'plan',
      verdict: 'fail',
      override: true,
      comment: 'No canary.',
      previous: { verdict: 'pass', by: staff.user.id },
    });
    expect(audit[2]!.detail).toMatchObject({ checkId: 'plan', verdict: 'fail', by: other.user.id });
  }, 180_000);
});
