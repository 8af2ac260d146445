#!/usr/bin/env node
// The security suite's second pass: runs every file in test/security again with sandboxes under gVisor
// (OPSLAB_SANDBOX_RUNTIME=runsc), when the engine has a runtime named runsc. Without one (a developer machine) it
// says that it skipped and succeeds, unless OPSLAB_REQUIRE_RUNSC=1 (scripts/test.mjs sets it when it started the
// engine itself with runsc registered).
// Its figures are added to those of the first pass, so the table it prints shows both runtimes side by side.
// Plain Node, no npm dependencies besides vitest itself.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerEndpoint } from './lib/docker.mjs';

const RUNTIME = process.env.OPSLAB_SECURITY_PASS_RUNTIME || 'runsc';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The engine's /info, or null when it does not answer. */
function engineInfo(endpoint = dockerEndpoint()) {
  return new Promise((resolve) => {
    const { label: _label, ...target } = endpoint;
    const req = http.get({ ...target, path: '/info', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(body) : null);
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(null));
  });
}

const info = await engineInfo();
const runtimes = Object.keys(info?.Runtimes ?? {});
if (!runtimes.includes(RUNTIME)) {
  const why = info
    ? `the engine's runtimes are ${runtimes.join(', ') || '(none)'}, without ${RUNTIME}`
    : 'no Docker engine answers';
  if (process.env.OPSLAB_REQUIRE_RUNSC === '1') {
    console.error(`\nsecurity pass under ${RUNTIME}: FAILED to start: ${why} (OPSLAB_REQUIRE_RUNSC=1).`);
    process.exit(1);
  }
  console.log(`\nsecurity pass under ${RUNTIME}: SKIPPED: ${why}. See SECURITY.md (gVisor) to register it.`);
  process.exit(0);
}

console.log(`\nsecurity pass under ${RUNTIME}: running test/security with OPSLAB_SANDBOX_RUNTIME=${RUNTIME}`);
const started = Date.now();
const result = spawnSync('npx', ['vitest', 'run', 'test/security'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    OPSLAB_SANDBOX_RUNTIME: RUNTIME,
    // Keep the first pass's figures: the table shows both runtimes.
    OPSLAB_FIGURES_APPEND: '1',
    // A run id of its own: its containers are this pass's.
    OPSLAB_TEST_RUN: `run-${Date.now().toString(36)}-${process.pid}-${RUNTIME}`,
  },
});
const seconds = Math.round((Date.now() - started) / 1000);
const status = result.status ?? 1;
console.log(`security pass under ${RUNTIME}: ${status === 0 ? 'passed' : 'FAILED'} in ${seconds} s`);
process.exit(status);
