// Timed phases and the closing line of `npm test`. Plain Node, no npm dependencies.
import { existsSync, readFileSync } from 'node:fs';

/** Each phase's time: "==> name" when it starts, "<== name: N s" when it ends, a table at the end. */
export class Phases {
  constructor(out = (line) => process.stdout.write(`${line}\n`), now = () => Date.now()) {
    this.out = out;
    this.now = now;
    this.t0 = now();
    this.done = [];
    this.current = null;
  }

  start(name) {
    this.end();
    this.current = { name, t0: this.now() };
    this.out('');
    this.out(`==> ${name}`);
  }

  /** Ends the current phase; `status` (e.g. "FAILED") is shown next to its time. */
  end(status = '') {
    if (!this.current) return;
    const seconds = Math.round((this.now() - this.current.t0) / 1000);
    this.done.push({ name: this.current.name, seconds, status });
    this.out(`<== ${this.current.name}: ${seconds} s${status ? ` (${status})` : ''}`);
    this.current = null;
  }

  table() {
    const width = Math.max(14, ...this.done.map((p) => p.name.length));
    const row = (name, seconds, status = '') => `  ${name.padEnd(width)} ${String(seconds).padStart(4)} s${status ? `  ${status}` : ''}`;
    return [
      'timings:',
      ...this.done.map((p) => row(p.name, p.seconds, p.status)),
      row('total', Math.round((this.now() - this.t0) / 1000)),
    ].join('\n');
  }
}

/**
 * Adds one phase's outcome to the run's totals. `counts` are the lines the summary reporter appended
 * (test/helpers/summary-reporter.ts, OPSLAB_TEST_SUMMARY_FILE), possibly none. A phase that exited non-zero without a
 * failure among its counts (it crashed, vitest did not start, the typecheck failed) counts as one failure, so the
 * closing line never says 0 failed on a red run.
 */
export function addPhase(totals, counts, exitCode) {
  const phase = { passed: 0, failed: 0, skipped: 0 };
  for (const c of counts) {
    phase.passed += c.passed ?? 0;
    phase.failed += c.failed ?? 0;
    phase.skipped += c.skipped ?? 0;
  }
  if (exitCode !== 0 && phase.failed === 0) phase.failed = 1;
  totals.passed += phase.passed;
  totals.failed += phase.failed;
  totals.skipped += phase.skipped;
  return phase;
}

/**
 * The failures a phase's summary lines name (test/helpers/summary-reporter.ts), each under the phase's name:
 * "exercises: test/exercises/x.test.ts > self-test". A phase that failed without naming any is named itself.
 */
export function phaseFailures(name, counts, exitCode) {
  const named = counts.flatMap((c) => (Array.isArray(c.failures) ? c.failures.filter((f) => typeof f === 'string') : []));
  if (named.length > 0) return named.map((f) => `${name}: ${f}`);
  return exitCode === 0 ? [] : [`${name}: exited ${exitCode}`];
}

/** The lines that name what failed, printed right above the closing line; none when nothing did. */
export function failuresBlock(failures) {
  if (failures.length === 0) return '';
  return ['failed:', ...failures.map((f) => `  ${f}`)].join('\n');
}

/** The JSON lines of a summary file (none when it is missing; a line cut short is left out). */
export function readCounts(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* a line cut short by a killed process */
    }
  }
  return out;
}

/** The last line of a run: "tests: N passed, N failed, N skipped". */
export function closingLine({ passed, failed, skipped }) {
  return `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
}
