import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../server/src/paths.js';

/** Where measured figures go, one JSON object a line; the summary reporter prints them as a table. */
export const FIGURES_FILE = path.join(repoRoot(), 'test-artifacts', 'security-figures.jsonl');

/** The OCI runtime sandboxes run under in this test run (the security suite runs once per runtime). */
export const SANDBOX_RUNTIME = process.env.OPSLAB_SANDBOX_RUNTIME || 'runc';

export interface FigureLine {
  /** The test run (OPSLAB_TEST_RUN), so a table shows this run's figures only. */
  run: string;
  runtime: string;
  item: string;
  name: string;
  value: number | string;
  unit?: string;
  at: string;
}

/**
 * Records one measured figure of the security suite, e.g. `figure('3 fork bomb', 'echo p99 during bomb', 12.4,
 * 'ms')`. Appends a line to test-artifacts/security-figures.jsonl (safe from parallel workers: one small
 * O_APPEND write per figure). `item` groups the rows of the summary table.
 */
export function figure(item: string, name: string, value: number | string, unit?: string): void {
  const line: FigureLine = {
    run: process.env.OPSLAB_TEST_RUN ?? `adhoc-${process.pid}`,
    runtime: SANDBOX_RUNTIME,
    item,
    name,
    value: typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value,
    ...(unit ? { unit } : {}),
    at: new Date().toISOString(),
  };
  fs.mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  fs.appendFileSync(FIGURES_FILE, `${JSON.stringify(line)}\n`);
}
