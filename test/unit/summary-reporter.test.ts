// The closing line counts a test file whose setup failed (a beforeAll that threw, an import that failed) as a
// failure: a real vitest run over test/fixtures/reporter/, read back from its output and its summary file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../server/src/paths.js';

describe('summary reporter', () => {
  it('counts files whose setup failed as failed, on the closing line and in the summary file, which names each failure', { timeout: 60_000 }, () => {
    const root = repoRoot();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-reporter-'));
    const summaryFile = path.join(dir, 'summary.jsonl');
    try {
      const res = spawnSync(
        process.execPath,
        [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', OPSLAB_TEST_SUMMARY_FILE: summaryFile },
        },
      );
      const lines = res.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
      // passing: 1 passed + 1 skipped; fails: 1 failed; before-all-throws: 2 skipped, the file 1 failed; import-fails:
      // the file 1 failed.
      expect(lines.at(-1), res.stdout + res.stderr).toBe('tests: 1 passed, 3 failed, 3 skipped');
      expect(res.status).not.toBe(0);
      const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
      expect(summary).toMatchObject({ passed: 1, failed: 3, skipped: 3 });
      // Each failure named by file and test (the ones outside any test marked as such), with its error's first line.
      expect(summary.failures.sort()).toEqual([
        'test/fixtures/reporter/before-all-throws.fixture.ts (setup): setup failed on purpose',
        'test/fixtures/reporter/fails.fixture.ts > a group > fails: expected 2 to be 3 // Object.is equality',
        'test/fixtures/reporter/import-fails.fixture.ts (setup): broken at import on purpose',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
