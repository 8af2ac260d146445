#!/usr/bin/env node
// `npm test`: set up what the tests need (as `npm start` does for the server), then run every test.
//   node scripts/test.mjs                   the setup, then: typecheck; vitest without test/exercises; vitest
//                                           test/exercises; the security pass under gVisor (scripts/security-pass.mjs)
//   node scripts/test.mjs <vitest args>     the setup, then only `vitest run <vitest args>` (a subset: test/unit, a file)
//   node scripts/test.mjs --no-setup ...    the tests without the setup (`npm run test:only`)
//   node scripts/test.mjs --setup-only      the setup alone
// The setup, each step skipped when already done:
//   1. system packages: dockerd (docker.io), debootstrap, chromium, runsc, docker compose. As root with apt-get, the
//      missing ones are installed (apt-get update once, then install). Otherwise, and when no engine answers that
//      this run could start, it prints what is missing and how to install it, and exits 2 before any test;
//   2. docker engine: when none answers, registers runsc in /etc/docker/daemon.json and starts dockerd (log:
//      <data dir>/dockerd-test.log); that dockerd, and only that one, is stopped by its pid when the run ends;
//   3. npm deps: `npm ci` when node_modules is missing or stale; 4. build: the server, the images and the web UI.
// Every phase prints its time, and the run ends with a table of them and one line:
// "tests: N passed, N failed, N skipped", summed over every vitest run (a phase that fails without a count of its
// own, such as the typecheck, counts as one failure).
// Plain Node ESM with no npm dependencies: it runs before node_modules exists.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImages, buildServer, buildWeb } from './lib/build.mjs';
import { ensureDeps, nodeVersionProblem } from './lib/deps.mjs';
import { dockerEndpoint, engineStartProblem, ensureDockerEngine, pingDocker, stopDockerd } from './lib/docker.mjs';
import { addPhase, closingLine, failuresBlock, phaseFailures, Phases, readCounts } from './lib/phases.mjs';
import { aptInstall, checkSetup, TEST_TOOLS } from './lib/system.mjs';
import { npmCommand, say } from './lib/util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const OWN = new Set(['--no-setup', '--setup-only', '--help', '-h']);
const argv = process.argv.slice(2);
const own = new Set(argv.filter((a) => OWN.has(a)));
const vitestArgs = argv.filter((a) => !OWN.has(a));
if (own.has('--help') || own.has('-h')) {
  process.stdout.write(
    'usage: node scripts/test.mjs [--no-setup | --setup-only] [vitest args...]\n' +
      '  (npm test [-- <vitest args>], npm run test:only [-- <vitest args>])\n',
  );
  process.exit(0);
}
if (own.has('--no-setup') && own.has('--setup-only')) {
  process.stderr.write('opslab: error: --no-setup and --setup-only exclude each other\n');
  process.exit(2);
}

const dataDir = path.resolve(process.env.OPSLAB_DATA_DIR || 'data');
const phases = new Phases();
const totals = { passed: 0, failed: 0, skipped: 0 };
/** What failed, named per phase ("exercises: test/exercises/x.test.ts > ..."), printed above the closing line. */
const failures = [];
/** The pid of the dockerd this run started, until it is stopped. */
let ourDockerd = null;
/** The child process of the running phase (signals are passed on to it). */
let current = null;
let summaryFiles = 0;

function stopOurEngine() {
  if (ourDockerd === null) return;
  const pid = ourDockerd;
  ourDockerd = null;
  stopDockerd(pid);
}

/** Ends the run: stops this run's engine, prints the timings and the closing line, exits. */
function finish(code, { closing = true } = {}) {
  phases.end(code === 0 ? '' : 'FAILED');
  stopOurEngine();
  process.stdout.write(`\n${phases.table()}\n`);
  const block = failuresBlock(failures);
  if (block) process.stdout.write(`${block}\n`);
  if (closing) process.stdout.write(`${closingLine(totals)}\n`);
  process.exit(code);
}

// Whatever ends this process, the engine it started does not outlive it.
process.on('exit', stopOurEngine);
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    if (current && current.exitCode === null && current.signalCode === null) current.kill(sig);
    process.stdout.write(`\nopslab: ${sig}: stopping\n`);
    totals.failed = Math.max(totals.failed, 1);
    finish(128 + num);
  });
}

/** Runs a command with inherited stdio; resolves its exit code (127 when it cannot start). */
function runChild(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    current = child;
    child.once('error', (err) => {
      process.stderr.write(`opslab: error: cannot run ${cmd}: ${err.message}\n`);
      current = null;
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      current = null;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

// ---- setup ---------------------------------------------------------------------------------------------------------

async function setup() {
  phases.start('system packages');
  const nodeProblem = nodeVersionProblem();
  if (nodeProblem) return fail(nodeProblem, 2);
  say(`node ${process.version}`);
  const endpoint = dockerEndpoint();
  const up = await pingDocker(3000, endpoint);
  const { install, problems } = checkSetup({
    engine: { up, label: endpoint.label, startProblem: up ? null : engineStartProblem(endpoint) },
  });
  if (problems.length > 0) {
    process.stderr.write(`opslab: npm test needs what this machine lacks:\n${problems.map((l) => `  ${l}`).join('\n')}\n`);
    return fail(null, 2);
  }
  if (install.length > 0) await aptInstall(install);
  else say(`all present (${TEST_TOOLS.map((t) => t.name).join(', ')})`);

  phases.start('docker engine');
  const engine = await ensureDockerEngine({ dataDir, registerGvisor: true, logName: 'dockerd-test.log' });
  if (engine.started) {
    ourDockerd = engine.pid;
    // This run registered gVisor in the engine it started: the security pass must run under it.
    if (engine.runsc) process.env.OPSLAB_REQUIRE_RUNSC = '1';
  } else {
    say(`an engine already answers at ${engine.endpoint.label}: using it (it keeps running after the tests)`);
  }

  phases.start('npm deps');
  await ensureDeps(root);

  phases.start('build');
  await buildServer(root);
  await buildImages(root);
  await buildWeb(root);
}

/** A setup step failed: it counts as one failure, and no test runs. */
function fail(message, code = 1) {
  if (message) process.stderr.write(`opslab: error: ${message}\n`);
  totals.failed += 1;
  failures.push(`setup: ${message ?? 'see above'}`);
  finish(code);
}

// ---- tests ---------------------------------------------------------------------------------------------------------

/** Runs one phase; the counts its vitest runs report go to the totals. Resolves true when it passed. */
async function testPhase(name, cmd, args) {
  phases.start(name);
  const summaryFile = path.join(os.tmpdir(), `opslab-test-summary-${process.pid}-${++summaryFiles}.jsonl`);
  rmSync(summaryFile, { force: true });
  const code = await runChild(cmd, args, { ...process.env, OPSLAB_TEST_SUMMARY_FILE: summaryFile });
  const counts = readCounts(summaryFile);
  rmSync(summaryFile, { force: true });
  const mine = addPhase(totals, counts, code);
  failures.push(...phaseFailures(name, counts, code));
  phases.end(code === 0 ? '' : `FAILED, exit ${code}`);
  if (counts.length > 0 || code !== 0) say(`${name}: ${mine.passed} passed, ${mine.failed} failed, ${mine.skipped} skipped`);
  return code === 0;
}

const vitest = (args) => [process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...args]];

if (!own.has('--no-setup')) {
  try {
    await setup();
  } catch (err) {
    fail(err.message);
  }
}
if (own.has('--setup-only')) finish(0, { closing: false });

let ok = true;
if (vitestArgs.length > 0) {
  // A subset: one vitest run with the given arguments.
  ok = await testPhase(`vitest ${vitestArgs.join(' ')}`, ...vitest(vitestArgs));
} else {
  // Every phase runs, even after one failed: one run shows every failure.
  const [npm, npmArgs] = npmCommand(['run', '--silent', 'typecheck']);
  ok = (await testPhase('typecheck', npm, npmArgs)) && ok;
  ok = (await testPhase('vitest', ...vitest(['--exclude', 'test/exercises/**']))) && ok;
  ok = (await testPhase('exercises', ...vitest(['test/exercises']))) && ok;
  ok = (await testPhase('security (runsc)', process.execPath, [path.join(root, 'scripts/security-pass.mjs')])) && ok;
}
finish(ok && totals.failed === 0 ? 0 : 1);
