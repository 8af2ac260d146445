import type { CheckResult, GradingRun } from './runner.js';
import { tallyGrade, type Confirmations } from '../../../contract/grade.js';

export interface JsonReport {
  exercise: string | null;
  attempt: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Counted as tallyGrade does: advisory checks only once a reviewer confirmed them, with that verdict. */
  score: number;
  maxScore: number;
  /** Points of advisory checks awaiting a reviewer. */
  pendingPoints: number;
  /** The grader's verdicts (advisory checks: preliminary). */
  counts: { pass: number; fail: number; error: number };
  /** `confirmed`: a reviewer's verdict on an advisory check (null while it awaits one; absent on other checks). */
  checks: (CheckResult & { confirmed?: 'pass' | 'fail' | null })[];
  cleanroom: GradingRun['cleanroom'];
}

/**
 * The grading run as a plain JSON document. With `forCandidate`, checks marked `visible: false` keep only their
 * verdict, and no check carries its details (the interviewer's evidence).
 */
export function toJsonReport(
  run: GradingRun,
  meta: { exerciseId?: string; attemptId?: string; forCandidate?: boolean; confirmations?: Confirmations } = {},
): JsonReport {
  const count = (v: CheckResult['verdict']) => run.results.filter((r) => r.verdict === v).length;
  // A reviewer's decisions are the staff's: the candidate's report counts advisory checks as pending.
  const confirmations = meta.forCandidate ? {} : (meta.confirmations ?? {});
  const { score, maxScore, pendingPoints } = tallyGrade(run.results, confirmations);
  return {
    exercise: meta.exerciseId ?? null,
    attempt: meta.attemptId ?? null,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.durationMs,
    score,
    maxScore,
    pendingPoints,
    counts: { pass: count('pass'), fail: count('fail'), error: count('error') },
    checks: run.results.map((r) => ({
      ...(meta.forCandidate ? { ...r, details: '', message: r.visible ? r.message : '' } : { ...r }),
      ...(r.advisory ? { confirmed: confirmations[r.id] ?? null } : {}),
    })),
    cleanroom: run.cleanroom.map((c) => ({ ...c })),
  };
}

/** Text that is safe in XML content and attributes: escaped, and without the characters XML 1.0 forbids. */
export function xmlEscape(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/**
 * JUnit XML: one testcase per check; fail -> <failure>, error -> <error>; the details go to <system-out>. An
 * advisory check counts with its reviewer's verdict, and is <skipped> (the grader's preliminary verdict said)
 * while it awaits one.
 */
export function toJUnitXml(run: GradingRun, opts: { suiteName: string; confirmations?: Confirmations }): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const confirmations = opts.confirmations ?? {};
  const verdictOf = (r: CheckResult) => (r.advisory ? (confirmations[r.id] ?? 'pending') : r.verdict);
  const failures = run.results.filter((r) => verdictOf(r) === 'fail').length;
  const errors = run.results.filter((r) => verdictOf(r) === 'error').length;
  const skipped = run.results.filter((r) => verdictOf(r) === 'pending').length;
  const { score, maxScore, pendingPoints } = tallyGrade(run.results, confirmations);
  const suite = xmlEscape(opts.suiteName);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${suite}" tests="${run.results.length}" failures="${failures}" errors="${errors}" time="${secs(run.durationMs)}">`,
    `  <testsuite name="${suite}" tests="${run.results.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(run.durationMs)}" timestamp="${xmlEscape(run.startedAt)}">`,
    `    <properties>`,
    `      <property name="score" value="${score}"/>`,
    `      <property name="maxScore" value="${maxScore}"/>`,
    `      <property name="pendingPoints" value="${pendingPoints}"/>`,
    `    </properties>`,
  ];
  for (const r of run.results) {
    const open = `    <testcase classname="${suite}" name="${xmlEscape(`${r.id}: ${r.title}`)}" time="${secs(r.durationMs)}">`;
    lines.push(open);
    const verdict = verdictOf(r);
    if (verdict === 'pending') {
      const why = `advisory: awaiting a reviewer's confirmation (the grader's preliminary verdict: ${r.verdict})`;
      lines.push(`      <skipped message="${xmlEscape(why)}"/>`);
    } else if (verdict === 'fail') {
      const message = r.advisory && r.verdict !== 'fail' ? `a reviewer failed this advisory check (the grader said ${r.verdict})` : r.message;
      lines.push(`      <failure message="${xmlEscape(message)}" type="fail">${xmlEscape(message)}</failure>`);
    } else if (verdict === 'error') {
      lines.push(`      <error message="${xmlEscape(r.message)}" type="error">${xmlEscape(r.message)}</error>`);
    }
    if (r.details) lines.push(`      <system-out>${xmlEscape(r.details)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
