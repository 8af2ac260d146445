// The setup of `npm test` (scripts/test.mjs): what it reports when it cannot install or start what is missing, and
// how it adds up the phases of a run into its closing line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerEndpoint, engineStartProblem } from '../../scripts/lib/docker.mjs';
import { addPhase, closingLine, failuresBlock, phaseFailures, Phases, readCounts } from '../../scripts/lib/phases.mjs';
import { checkSetup, registerRunsc, TEST_TOOLS, type Probe } from '../../scripts/lib/system.mjs';

/** A machine with only the given commands (and files), as root or not, with or without apt-get. */
function machine(have: string[], { root = false, apt = true } = {}): Probe {
  return {
    which: (cmd) => (have.includes(cmd) ? `/usr/bin/${cmd}` : null),
    exists: (file) => have.includes(file),
    ok: (cmd, args) => have.includes(`${cmd} ${args.join(' ')}`),
    isRoot: () => root,
    hasApt: () => apt,
  };
}
const EVERYTHING = ['dockerd', 'debootstrap', process.env.OPSLAB_CHROMIUM || '/usr/bin/chromium', 'runsc', 'docker-compose'];
const ENGINE_UP = { up: true, label: 'unix:///var/run/docker.sock', startProblem: null };

describe('npm test setup: the check', () => {
  it('asks for nothing on a machine that has everything', () => {
    expect(checkSetup({ probe: machine(EVERYTHING), engine: ENGINE_UP })).toEqual({ install: [], problems: [] });
    // `docker compose` (the plugin) does instead of docker-compose.
    const plugin = [...EVERYTHING.filter((c) => c !== 'docker-compose'), 'docker compose version'];
    expect(checkSetup({ probe: machine(plugin), engine: ENGINE_UP }).problems).toEqual([]);
  });

  it('as root with apt-get, installs what is missing and goes on', () => {
    const res = checkSetup({ probe: machine(['dockerd', 'debootstrap'], { root: true }), engine: ENGINE_UP });
    expect(res).toEqual({ install: ['chromium', 'runsc', 'docker-compose'], problems: [] });
  });

  it('not root: says exactly what is missing and the command that installs it, and installs nothing', () => {
    const res = checkSetup({ probe: machine(['dockerd', 'debootstrap', 'docker-compose']), engine: ENGINE_UP });
    expect(res.install).toEqual([]);
    expect(res.problems[0]).toBe('missing: chromium (the page tests in test/e2e), runsc (gVisor, for the security pass under runsc)');
    expect(res.problems[1]).toBe('  install: sudo apt-get update && sudo apt-get install -y chromium runsc');
    expect(res.problems.at(-1)).toContain('npm run test:only');
  });

  it('without apt-get (even as root): names the packages to find', () => {
    const res = checkSetup({ probe: machine(['dockerd', 'chromium'], { root: true, apt: false }), engine: ENGINE_UP });
    expect(res.install).toEqual([]);
    expect(res.problems[1]).toContain("install with your distribution's packages (Debian/Ubuntu names: debootstrap chromium runsc docker-compose)");
  });

  it('an engine that does not answer and that this run cannot start is a problem; one it can start is not', () => {
    const endpoint = dockerEndpoint({});
    const notRoot = engineStartProblem(endpoint, { root: false, debianLike: true });
    expect(notRoot).toContain('apt-get install -y docker.io');
    const res = checkSetup({ probe: machine(EVERYTHING), engine: { up: false, label: endpoint.label, startProblem: notRoot } });
    expect(res.problems[0]).toBe('the Docker engine does not answer at unix:///var/run/docker.sock');
    expect(res.problems[1]).toBe(`  ${notRoot}`);

    expect(engineStartProblem(endpoint, { root: true, debianLike: true })).toBeNull();
    const remote = dockerEndpoint({ DOCKER_HOST: 'tcp://10.0.0.5:2375' });
    expect(engineStartProblem(remote, { root: true, debianLike: true })).toContain('DOCKER_HOST');
    const starts = checkSetup({ probe: machine(EVERYTHING, { root: true }), engine: { up: false, label: endpoint.label, startProblem: null } });
    expect(starts.problems).toEqual([]);
  });

  it('knows the packages CI used to install', () => {
    expect(TEST_TOOLS.map((t) => t.pkg).sort()).toEqual(['chromium', 'debootstrap', 'docker-compose', 'docker.io', 'runsc']);
  });

  it('registers runsc in daemon.json, merged into what is there, an existing entry kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-daemon-'));
    try {
      const file = path.join(dir, 'docker', 'daemon.json');
      expect(registerRunsc('/usr/bin/runsc', file)).toBe('registered');
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
        runtimes: { runsc: { path: '/usr/bin/runsc', runtimeArgs: ['--network=none'] } },
      });
      fs.writeFileSync(file, JSON.stringify({ 'log-level': 'warn', runtimes: { runsc: { path: '/opt/runsc' } } }));
      expect(registerRunsc('/usr/bin/runsc', file)).toBe('present');
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).runtimes.runsc.path).toBe('/opt/runsc');
      fs.writeFileSync(file, JSON.stringify({ 'log-level': 'warn' }));
      expect(registerRunsc('/usr/bin/runsc', file)).toBe('registered');
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))['log-level']).toBe('warn');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm test: the closing line over every phase', () => {
  it('sums the counts of every vitest run', () => {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    addPhase(totals, [{ passed: 100, failed: 0, skipped: 2 }], 0);
    addPhase(totals, [{ passed: 5, failed: 1, skipped: 0 }, { passed: 7, failed: 0, skipped: 1 }], 1);
    expect(closingLine(totals)).toBe('tests: 112 passed, 1 failed, 3 skipped');
  });

  it('never says 0 failed when a phase exited non-zero', () => {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    addPhase(totals, [], 0); // the security pass, skipped
    addPhase(totals, [], 2); // the typecheck failed: no counts
    addPhase(totals, [{ passed: 3, failed: 0, skipped: 0 }], 1); // vitest crashed after its counts
    addPhase(totals, [], 137); // killed
    expect(closingLine(totals)).toBe('tests: 3 passed, 3 failed, 0 skipped');
  });

  it('names what failed per phase, and a phase that failed without naming anything', () => {
    const failures = [
      ...phaseFailures('vitest', [{ passed: 5, failed: 0, skipped: 0, failures: [] }], 0),
      ...phaseFailures('exercises', [{ passed: 6, failed: 1, skipped: 0, failures: ['test/exercises/a.test.ts > a > self-test'] }], 1),
      ...phaseFailures('typecheck', [], 2),
      ...phaseFailures('old summary line', [{ passed: 1, failed: 0, skipped: 0 }], 0),
    ];
    expect(failuresBlock(failures)).toBe(
      'failed:\n  exercises: test/exercises/a.test.ts > a > self-test\n  typecheck: exited 2',
    );
    expect(failuresBlock([])).toBe('');
  });

  it('reads the summary file, skipping a line cut short', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-summary-'));
    try {
      const file = path.join(dir, 's.jsonl');
      expect(readCounts(file)).toEqual([]);
      fs.writeFileSync(file, '{"passed":1,"failed":2,"skipped":3}\n{"passed":4,"fa');
      expect(readCounts(file)).toEqual([{ passed: 1, failed: 2, skipped: 3 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('times each phase and prints a table', () => {
    const lines: string[] = [];
    let t = 0;
    const phases = new Phases((l) => lines.push(l), () => t);
    phases.start('docker engine');
    t = 2_000;
    phases.start('typecheck');
    t = 27_000;
    phases.end('FAILED');
    expect(lines).toEqual(['', '==> docker engine', '<== docker engine: 2 s', '', '==> typecheck', '<== typecheck: 25 s (FAILED)']);
    expect(phases.table()).toBe(
      ['timings:', '  docker engine     2 s', '  typecheck        25 s  FAILED', '  total            27 s'].join('\n'),
    );
  });
});
