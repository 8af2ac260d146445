import { defineConfig } from 'vitest/config';

// One id per test run, inherited by the workers: see TEST_RUN in test/helpers/docker.ts.
process.env.OPSLAB_TEST_RUN ??= `run-${Date.now().toString(36)}-${process.pid}`;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // expect.poll waits this long by default (vitest's own 1 s is short for a page on two busy cores); a poll that
    // should finish sooner says so with its own timeout.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    // Two cores: integration files run two at a time; tests inside a file run in order.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
