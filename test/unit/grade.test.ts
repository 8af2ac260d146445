// The one computation of a grade (contract/grade.ts) and the reports built on it: advisory checks count in
// neither the earned nor the maximum points until a reviewer confirms them, then with the reviewer's verdict.
import { describe, expect, it } from 'vitest';
import { advisoryNote, countedVerdict, formatGrade, gradePercent, tallyGrade, type GradedCheck } from '../../contract/index.js';
import { toJsonReport, toJUnitXml } from '../../server/src/grading/report.js';
import type { GradingRun } from '../../server/src/grading/runner.js';

const checks: GradedCheck[] = [
  { id: 'fixed', points: 5, verdict: 'pass' },
  { id: 'tests', points: 4, verdict: 'fail', advisory: false },
  { id: 'broke', points: 7, verdict: 'error' },
  { id: 'note', points: 3, verdict: 'pass', advisory: true },
  { id: 'plan', points: 2, verdict: 'fail', advisory: true },
];

describe('tallyGrade', () => {
  it('leaves advisory checks out of both sums until confirmed, whatever the grader said', () => {
    expect(tallyGrade(checks)).toEqual({ score: 5, maxScore: 9, pendingPoints: 5, pendingChecks: ['note', 'plan'] });
  });

  it('counts a confirmed advisory check with the reviewer verdict, not the grader one', () => {
    // Confirmed as the grader said.
    expect(tallyGrade(checks, { note: 'pass' })).toMatchObject({ score: 8, maxScore: 12, pendingPoints: 2, pendingChecks: ['plan'] });
    // Overridden both ways.
    expect(tallyGrade(checks, { note: 'fail', plan: 'pass' })).toEqual({ score: 7, maxScore: 14, pendingPoints: 0, pendingChecks: [] });
    // A grader error on an advisory check: a reviewer can still decide it.
    expect(tallyGrade([{ id: 'x', points: 4, verdict: 'error', advisory: true }], { x: 'pass' })).toMatchObject({ score: 4, maxScore: 4 });
  });

  it('ignores confirmations of checks that are not advisory or not in the grading', () => {
    expect(tallyGrade(checks, { fixed: 'fail', tests: 'pass', gone: 'pass' })).toEqual(tallyGrade(checks));
  });

  it('counts gradings without the flag (made before advisory checks) as before', () => {
    const old = checks.map(({ advisory: _, ...c }) => c);
    expect(tallyGrade(old)).toEqual({ score: 8, maxScore: 14, pendingPoints: 0, pendingChecks: [] });
    expect(tallyGrade([])).toEqual({ score: 0, maxScore: 0, pendingPoints: 0, pendingChecks: [] });
  });

  it('formats, and gives the counted verdict and percentage', () => {
    expect(formatGrade(tallyGrade(checks))).toBe('5/9 (+5 awaiting review)');
    expect(formatGrade(tallyGrade(checks, { note: 'pass', plan: 'fail' }))).toBe('8/14');
    expect(countedVerdict(checks[3]!)).toBe('pending');
    expect(countedVerdict(checks[3]!, 'fail')).toBe('fail');
    expect(countedVerdict(checks[1]!, 'pass')).toBe('fail');
    expect(gradePercent(5, 9)).toBe(56);
    expect(gradePercent(0, 0)).toBeNull();
  });

  it('says what a reviewer decided and when the grader changed its mind since', () => {
    const by = { id: 'u_1', name: 'Robin' };
    const base = { comment: '', by, at: '2026-01-01T00:00:00.000Z', graderChanged: false };
    expect(advisoryNote({ verdict: 'pass', confirmation: null })).toMatch(/not counted until confirmed.*pass/);
    expect(advisoryNote({ verdict: 'pass', confirmation: { ...base, verdict: 'pass', graderVerdict: 'pass' } })).toBe('advisory: pass confirmed by Robin');
    expect(advisoryNote({ verdict: 'pass', confirmation: { ...base, verdict: 'fail', graderVerdict: 'pass' } })).toBe(
      'advisory: overridden to fail by Robin (the grader said pass)',
    );
    expect(advisoryNote({ verdict: 'fail', confirmation: { ...base, verdict: 'pass', graderVerdict: 'pass', graderChanged: true } })).toMatch(
      /a newer grading says fail/,
    );
  });
});

describe('reports with advisory checks', () => {
  const result = (id: string, points: number, verdict: 'pass' | 'fail' | 'error', advisory = false) => ({
    id, title: id, points, advisory, visible: true, verdict, message: `${id} says`, details: '', durationMs: 10,
  });
  const run: GradingRun = {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    score: 5,
    maxScore: 9,
    results: [result('fixed', 5, 'pass'), result('tests', 4, 'fail'), result('note', 3, 'pass', true)],
    cleanroom: [],
    phases: { graderStartMs: 0, copyMs: 0, cleanroomMs: 0, checksMs: 0 },
  };

  it('JSON: pending points, and the reviewer verdict for staff only', () => {
    expect(toJsonReport(run)).toMatchObject({ score: 5, maxScore: 9, pendingPoints: 3 });
    const staff = toJsonReport(run, { confirmations: { note: 'fail' } });
    expect(staff).toMatchObject({ score: 5, maxScore: 12, pendingPoints: 0 });
    expect(staff.checks[2]).toMatchObject({ verdict: 'pass', confirmed: 'fail' });
    expect(staff.checks[0]).not.toHaveProperty('confirmed');
    const candidate = toJsonReport(run, { confirmations: { note: 'fail' }, forCandidate: true });
    expect(candidate).toMatchObject({ score: 5, maxScore: 9, pendingPoints: 3 });
    expect(candidate.checks[2]).toMatchObject({ confirmed: null });
  });

  it('JUnit: skipped while pending, then the reviewer verdict', () => {
    const pending = toJUnitXml(run, { suiteName: 's' });
    expect(pending).toContain('tests="3" failures="1" errors="0" skipped="1"');
    expect(pending).toContain('<property name="pendingPoints" value="3"/>');
    expect(pending).toMatch(/name="note: note"[^\n]*\n\s*<skipped message="advisory: awaiting a reviewer&apos;s confirmation \(the grader&apos;s preliminary verdict: pass\)"\/>/);
    const failed = toJUnitXml(run, { suiteName: 's', confirmations: { note: 'fail' } });
    expect(failed).toContain('failures="2" errors="0" skipped="0"');
    expect(failed).toContain('<property name="score" value="5"/>');
    expect(failed).toContain('<property name="maxScore" value="12"/>');
    expect(failed).toContain('a reviewer failed this advisory check (the grader said pass)');
  });
});
