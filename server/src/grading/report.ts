import type { CheckResult, GradingRun } from './runner.js';

export interface JsonReport {
  exercise: string | null;
  attempt: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  score: number;
  maxScore: number;
  counts: { pass: number; fail: number; error: number };
  checks: CheckResult[];
  cleanroom: GradingRun['cleanroom'];
}

/**
 * The grading run as a plain JSON document. With `forCandidate`, checks marked `visible: false` keep only their
 * verdict, and no check carries its details (the interviewer's evidence).
 */
export function toJsonReport(
  run: GradingRun,
  meta: { exerciseId?: string; attemptId?: string; forCandidate?: boolean } = {},
): JsonReport {
  const count = (v: CheckResult['verdict']) => run.results.filter((r) => r.verdict === v).length;
  return {
    exercise: meta.exerciseId ?? null,
    attempt: meta.attemptId ?? null,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.durationMs,
    score: run.score,
    maxScore: run.maxScore,
    counts: { pass: count('pass'), fail: count('fail'), error: count('error') },
    checks: run.results.map((r) =>
      meta.forCandidate ? { ...r, details: '', message: r.visible ? r.message : '' } : { ...r },
    ),
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

/** JUnit XML: one testcase per check; fail -> <failure>, error -> <error>; the details go to <system-out>. */
export function toJUnitXml(run: GradingRun, opts: { suiteName: string }): string {
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const failures = run.results.filter((r) => r.verdict === 'fail').length;
  const errors = run.results.filter((r) => r.verdict === 'error').length;
  const suite = xmlEscape(opts.suiteName);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${suite}" tests="${run.results.length}" failures="${failures}" errors="${errors}" time="${secs(run.durationMs)}">`,
    `  <testsuite name="${suite}" tests="${run.results.length}" failures="${failures}" errors="${errors}" skipped="0" time="${secs(run.durationMs)}" timestamp="${xmlEscape(run.startedAt)}">`,
    `    <properties>`,
    `      <property name="score" value="${run.score}"/>`,
    `      <property name="maxScore" value="${run.maxScore}"/>`,
    `    </properties>`,
  ];
  for (const r of run.results) {
    const open = `    <testcase classname="${suite}" name="${xmlEscape(`${r.id}: ${r.title}`)}" time="${secs(r.durationMs)}">`;
    lines.push(open);
    if (r.verdict === 'fail') {
      lines.push(`      <failure message="${xmlEscape(r.message)}" type="fail">${xmlEscape(r.message)}</failure>`);
    } else if (r.verdict === 'error') {
      lines.push(`      <error message="${xmlEscape(r.message)}" type="error">${xmlEscape(r.message)}</error>`);
    }
    if (r.details) lines.push(`      <system-out>${xmlEscape(r.details)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
