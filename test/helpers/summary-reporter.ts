import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, SerializedError, TestModule, TestRunEndReason, TestSpecification } from 'vitest/node';
import { FIGURES_FILE, type FigureLine } from './figures.js';

/**
 * Prints one plain closing line, "N passed, N failed, N skipped", that any CI log reader understands; and, when
 * tests recorded figures (test/helpers/figures.ts), a table of them.
 *
 * The figures file is emptied when a run that includes test/security starts, unless OPSLAB_FIGURES_APPEND=1 (the
 * second security pass under another runtime sets it, so its table shows both runtimes side by side).
 *
 * With OPSLAB_TEST_SUMMARY_FILE set, the counts are also appended to that file as one JSON line
 * (`{"passed":N,"failed":N,"skipped":N,"failures":["file > test", ...]}`): scripts/test.mjs adds up the vitest runs
 * of `npm test` from it, and names what failed again next to its closing line, where a reader of the log's tail
 * finds it.
 */
export default class SummaryReporter implements Reporter {
  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    if (process.env.OPSLAB_FIGURES_APPEND === '1') return;
    const security = specifications.some((s) => s.moduleId.split(path.sep).join('/').includes('/test/security/'));
    if (security) fs.rmSync(FIGURES_FILE, { force: true });
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
    reason: TestRunEndReason = 'passed',
  ): void {
    const counts = countResults(testModules, unhandledErrors.length, reason);
    const failures = failedNames(testModules, unhandledErrors, reason);
    const table = figuresTable();
    if (table) process.stdout.write(`\n${table}`);
    process.stdout.write(`\n${closingLine(counts)}\n`);
    const file = process.env.OPSLAB_TEST_SUMMARY_FILE;
    if (file) fs.appendFileSync(file, `${JSON.stringify({ ...counts, failures })}\n`);
  }
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export function closingLine({ passed, failed, skipped }: Counts): string {
  return `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
}

/**
 * Tests by their own state, plus failures that belong to no test, so that a red run never reads "0 failed":
 * - a test file that failed while none of its tests did (it failed to import, or a beforeAll/afterAll hook threw
 *   and its tests were skipped) counts as one failure; its tests keep their own state (usually skipped);
 * - each unhandled error (an error thrown between tests, a crashed worker) counts as one failure;
 * - a run vitest ended as failed or interrupted with none of the above counts as one failure.
 */
export function countResults(testModules: ReadonlyArray<TestModule>, unhandledErrors = 0, reason: TestRunEndReason = 'passed'): Counts {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const mod of testModules) {
    let failedHere = 0;
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedHere++;
      else skipped++;
    }
    if (failedHere === 0 && (mod.state() === 'failed' || mod.errors().length > 0)) failedHere = 1;
    failed += failedHere;
  }
  failed += unhandledErrors;
  if (failed === 0 && reason !== 'passed') failed = 1;
  return { passed, failed, skipped };
}

/** At most this many failures are named in the summary file; the count says how many there were. */
const MAX_NAMED_FAILURES = 20;

/**
 * What failed, one line each: "file > describe > test: <first line of its error>" for a failed test, "file (setup):
 * <error>" for a file that failed outside its tests, each unhandled error, and the run's end reason when nothing else
 * explains a red run. File paths are relative to the working directory.
 */
export function failedNames(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<Pick<SerializedError, 'message'>> = [],
  reason: TestRunEndReason = 'passed',
): string[] {
  const out: string[] = [];
  for (const mod of testModules) {
    const file = path.relative(process.cwd(), mod.moduleId).split(path.sep).join('/');
    let failedHere = 0;
    for (const test of mod.children.allTests()) {
      const result = test.result();
      if (result.state !== 'failed') continue;
      failedHere++;
      out.push(`${file} > ${test.fullName}${because(result.errors?.[0])}`);
    }
    if (failedHere === 0 && (mod.state() === 'failed' || mod.errors().length > 0)) out.push(`${file} (setup)${because(mod.errors()[0])}`);
  }
  for (const err of unhandledErrors) out.push(`unhandled error${because(err)}`);
  if (out.length === 0 && reason !== 'passed') out.push(`the run ended as ${reason}`);
  return out.slice(0, MAX_NAMED_FAILURES);
}

/** ": <the error's first line>", cut to MAX_REASON characters; empty without an error. */
function because(err: Pick<SerializedError, 'message'> | undefined): string {
  const line = (err?.message ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  if (!line) return '';
  return `: ${line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line}`;
}

/** Characters of an error's first line kept beside a failure's name. */
const MAX_REASON = 240;

/** This run's figures (and, with OPSLAB_FIGURES_APPEND=1, the earlier ones in the file) as a text table. */
export function figuresTable(): string | null {
  let text: string;
  try {
    text = fs.readFileSync(FIGURES_FILE, 'utf8');
  } catch {
    return null;
  }
  const run = process.env.OPSLAB_TEST_RUN;
  const all: FigureLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    try {
      all.push(JSON.parse(raw) as FigureLine);
    } catch {
      /* a line cut short by a killed worker */
    }
  }
  const lines = process.env.OPSLAB_FIGURES_APPEND === '1' ? all : all.filter((l) => l.run === run);
  if (lines.length === 0) return null;
  // Grouped by item (in the order items first appear), then by name; one value column per runtime.
  const runtimes = [...new Set(lines.map((l) => l.runtime))];
  const rows = new Map<string, { item: string; name: string; values: Map<string, string> }>();
  for (const l of lines) {
    const key = `${l.item}\u0000${l.name}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { item: l.item, name: l.name, values: new Map() }));
    // A figure recorded twice (a retried test) keeps its last value.
    row.values.set(l.runtime, `${l.value}${l.unit ? ` ${l.unit}` : ''}`);
  }
  const sorted = [...rows.values()].sort((a, b) => compareItems(a.item, b.item));
  const header = ['item', 'figure', ...runtimes];
  const body = sorted.map((r) => [r.item, r.name, ...runtimes.map((rt) => r.values.get(rt) ?? '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = ['security figures:', fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  let last = '';
  for (const b of body) {
    out.push(fmt([b[0] === last ? '' : b[0]!, ...b.slice(1)]));
    last = b[0]!;
  }
  return `${out.join('\n')}\n`;
}

/** Items named "3 fork bomb", "10 ..." sort by their number, then by name; stable for the rest. */
function compareItems(a: string, b: string): number {
  const na = Number.parseInt(a, 10);
  const nb = Number.parseInt(b, 10);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  if (Number.isFinite(na) !== Number.isFinite(nb)) return Number.isFinite(na) ? -1 : 1;
  return 0;
}
