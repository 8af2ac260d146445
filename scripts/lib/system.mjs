// The machine's own packages: what `npm test` needs besides Node, how to tell what is missing, and installing it
// with apt-get (as root on Debian/Ubuntu). Plain Node, no npm dependencies: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRoot, run, say, which } from './util.mjs';

/** The real machine, for checkSetup (the unit tests pass their own). */
export const realProbe = {
  which,
  exists: (file) => existsSync(file),
  /** Whether the command runs and exits 0. */
  ok: (cmd, args) => {
    const exe = which(cmd);
    return Boolean(exe) && spawnSync(exe, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
  },
  isRoot,
  hasApt: () => Boolean(which('apt-get')),
};

/** What the tests use besides Node and npm, with the Debian/Ubuntu package that provides it. */
export const TEST_TOOLS = [
  { name: 'dockerd', pkg: 'docker.io', why: 'the Docker engine', present: (p) => Boolean(p.which('dockerd')) },
  {
    name: 'debootstrap',
    pkg: 'debootstrap',
    why: 'builds debian:bookworm-slim when no registry answers',
    present: (p) => Boolean(p.which('debootstrap')),
  },
  {
    name: 'chromium',
    pkg: 'chromium',
    why: 'the page tests in test/e2e',
    // Where the page tests look for it (test/e2e/browser.ts).
    present: (p) => p.exists(process.env.OPSLAB_CHROMIUM || '/usr/bin/chromium'),
  },
  { name: 'runsc', pkg: 'runsc', why: 'gVisor, for the security pass under runsc', present: (p) => Boolean(p.which('runsc')) },
  {
    name: 'docker compose',
    pkg: 'docker-compose',
    why: 'the docker compose test',
    present: (p) => Boolean(p.which('docker-compose')) || p.ok('docker', ['compose', 'version']),
  },
];

/**
 * What stands between this machine and a test run, and whether this run can fix it itself.
 *   engine: { up: boolean, label: string, startProblem: string | null } (startProblem: why this run could not start
 *   one, from engineStartProblem in docker.mjs)
 * Returns { install: packages to apt-get install, problems: lines to print (empty when the run can go on) }.
 */
export function checkSetup({ tools = TEST_TOOLS, probe = realProbe, engine }) {
  const missing = tools.filter((t) => !t.present(probe));
  const root = probe.isRoot();
  const apt = probe.hasApt();
  const problems = [];
  if (missing.length > 0 && !(root && apt)) {
    const pkgs = missing.map((t) => t.pkg).join(' ');
    problems.push(`missing: ${missing.map((t) => `${t.name} (${t.why})`).join(', ')}`);
    problems.push(
      apt
        ? `  install: sudo apt-get update && sudo apt-get install -y ${pkgs}`
        : `  install with your distribution's packages (Debian/Ubuntu names: ${pkgs})`,
    );
  }
  if (!engine.up && engine.startProblem) {
    problems.push(`the Docker engine does not answer at ${engine.label}`);
    problems.push(`  ${engine.startProblem}`);
  }
  if (problems.length > 0) {
    problems.push(
      root && apt
        ? '`npm run test:only` runs the tests without this setup.'
        : 'As root on Debian/Ubuntu, `npm test` installs and starts these itself; `npm run test:only` runs the tests without this setup.',
    );
  }
  return { install: root && apt ? missing.map((t) => t.pkg) : [], problems };
}

let aptUpdated = false;

/** apt-get install -y the packages (apt-get update first, once per run). Throws when apt-get fails. */
export async function aptInstall(pkgs) {
  if (pkgs.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    say('apt-get update');
    if ((await run('apt-get', ['update', '-q'], { env })) !== 0) throw new Error('apt-get update failed');
    aptUpdated = true;
  }
  say(`apt-get install ${pkgs.join(' ')}`);
  if ((await run('apt-get', ['install', '-y', '-q', ...pkgs], { env })) !== 0) {
    throw new Error(`apt-get install ${pkgs.join(' ')} failed`);
  }
}

/**
 * Registers gVisor as the engine runtime `runsc` in daemon.json (merged into what is there; an existing runsc entry
 * is left as it is), for an engine that has not started yet. --network=none: gVisor's own network stack cannot start
 * on every machine, and sandboxes have no network anyway. Returns 'registered' or 'present'; throws when the file
 * cannot be read or written.
 */
export function registerRunsc(runscPath, file = '/etc/docker/daemon.json') {
  let conf = {};
  if (existsSync(file)) conf = JSON.parse(readFileSync(file, 'utf8') || '{}');
  conf.runtimes ??= {};
  if (conf.runtimes.runsc) return 'present';
  conf.runtimes.runsc = { path: runscPath, runtimeArgs: ['--network=none'] };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(conf, null, 2)}\n`);
  return 'registered';
}
