// The SandboxDriver contract: one set of cases that every driver must pass, run against each driver available
// here (server/src/sandbox/sandbox-driver.ts says what each operation promises). The rest of the platform relies
// on exactly these behaviours: a shell that survives a detach, bounded execs, facts about paths read without
// running anything in the sandbox, links kept as links, idempotent stop and remove, and jobs beside a sandbox.
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { GRADER_IMAGE_TAG } from '../../server/src/images/index.js';
import { packFiles } from '../../server/src/local-tar.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { effectiveLimits } from '../../server/src/sandbox/policy.js';
import { ExecLimitError, type JobDriver } from '../../server/src/sandbox/sandbox-driver.js';
import type { TerminalSession } from '../../server/src/terminal/terminal-session.js';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';
import { readTarEntries } from '../helpers/tar.js';

const policy = loadConfig({}).sandbox;
const limits = effectiveLimits(policy, {});

interface DriverUnderTest {
  name: string;
  /** Fails loudly when the driver's engine does not answer. */
  ready(): Promise<void>;
  make(instance: string): JobDriver;
  sandboxImage: string;
  jobImage: string;
  /**
   * Whether the engine can list a sandbox's processes from outside. Where it cannot tell them apart from the host's
   * (Docker with gVisor: its process ids are the Sentry's own), processes() must refuse, naming why, never guess.
   */
  listsProcesses: boolean;
}

/** The engine's runtimes (gVisor's runsc among them when registered), or none when it does not answer. */
const runtimes = Object.keys(((await docker.info().catch(() => ({}))) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});

const dockerDriver = (runtime: string): DriverUnderTest => ({
  name: `docker (${runtime})`,
  ready: requireDocker,
  make: (instance) => new DockerDriver({ instance, policy: { ...policy, runtime }, extraLabels: testLabels() }),
  sandboxImage: 'opslab/sandbox-base:latest',
  jobImage: GRADER_IMAGE_TAG,
  listsProcesses: runtime === 'runc',
});

// Docker with runc always (a missing engine fails loudly in `ready`); Docker with gVisor where the engine has it
// (the runtime operators choose for stronger isolation: the contract holds there too).
const DRIVERS: DriverUnderTest[] = [dockerDriver('runc'), ...(runtimes.includes('runsc') ? [dockerDriver('runsc')] : [])];
if (!runtimes.includes('runsc')) console.log('[driver contract] the engine has no runsc runtime: the gVisor case is left out');

/** Reads a tar stream into a map of entry name to {type, content, linkname}. */
async function readTar(stream: Readable): Promise<Map<string, { type: string; content: string; linkname?: string }>> {
  return new Map(
    (await readTarEntries(stream)).map((e) => [
      e.name.replace(/\/$/, ''),
      { type: e.type, content: e.body.toString('utf8'), ...(e.linkname ? { linkname: e.linkname } : {}) },
    ]),
  );
}

/** A tar with a symbolic link in it. */
function linkTar(name: string, target: string): Readable {
  const pack = tarStream.pack();
  pack.entry({ name, type: 'symlink', linkname: target, mode: 0o777 });
  pack.finalize();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** Collects a terminal's output until `pattern` appears (or the time is up). */
function waitForOutput(term: TerminalSession, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${pattern} in the terminal within ${timeoutMs} ms; it showed: ${JSON.stringify(text.slice(-400))}`));
    }, timeoutMs);
    const off = term.onData((chunk) => {
      text += chunk.toString('utf8');
      if (pattern.test(text)) {
        clearTimeout(timer);
        off();
        resolve(text);
      }
    });
  });
}

describe.each(DRIVERS)('SandboxDriver contract: $name', (d) => {
  let driver: JobDriver;
  let id = '';
  const attemptId = `dc-${Math.random().toString(36).slice(2, 10)}`;
  const made: string[] = [];

  beforeAll(async () => {
    await d.ready();
    driver = d.make(`dc${process.pid}`);
    id = await driver.create({ attemptId, exerciseId: 'driver-contract', image: d.sandboxImage, limits });
    made.push(id);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(made.map((m) => driver?.remove(m).catch(() => undefined)));
  });

  it('answers a ping', async () => {
    expect(await driver.ping()).toBe(true);
  });

  it('creates a sandbox not started yet, listed with its attempt and exercise, and starts it', async () => {
    const created = await driver.inspect(id);
    expect(created).toMatchObject({ id, attemptId, exerciseId: 'driver-contract', runState: 'created' });
    expect((await driver.listManaged()).map((s) => s.id)).toContain(id);
    await driver.start(id);
    await driver.start(id); // starting a running sandbox is success
    expect((await driver.inspect(id))!.runState).toBe('running');
  });

  it('keeps the shell across a detach: a later attach continues the same shell', async () => {
    const first = await driver.attachTerminal(id);
    await first.resize(100, 30);
    const seen = waitForOutput(first, /contract-42/);
    first.write('CONTRACT_VAR=contract-$((6*7)); echo $CONTRACT_VAR\r');
    await seen;
    first.close();
    const second = await driver.attachTerminal(id);
    const again = waitForOutput(second, /again-contract-42/);
    second.write('echo again-$CONTRACT_VAR; stty size\r');
    const text = await again;
    second.close();
    expect(text).toContain('again-contract-42');
  });

  it('starts a further shell beside the main one: its own process and size; a new one of the same name hangs the earlier up', async () => {
    expect(driver.execTerminal).toBeTypeOf('function');
    const first = await driver.execTerminal!(id, { name: '2', cols: 90, rows: 20 });
    const sized = waitForOutput(first, /size 20 90 root pid \d+/);
    first.write('echo size $(stty size) $(id -un) pid $$; echo $$ > /tmp/contract-shell-pid\r');
    const firstPid = /size 20 90 root pid (\d+)/.exec(await sized)![1]!;
    await first.resize(120, 40);
    const resized = waitForOutput(first, /now 40 120/);
    first.write('echo now $(stty size)\r');
    await resized;
    // The main shell is another process (resizing this one did not resize it).
    const main = await driver.attachTerminal(id);
    const mainPid = waitForOutput(main, /main-pid \d+/);
    main.write('echo main-pid $$\r');
    const mainText = await mainPid;
    main.close();
    expect(/main-pid (\d+)/.exec(mainText)![1]).not.toBe(firstPid);
    const pid = (await driver.exec(id, ['cat', '/tmp/contract-shell-pid'])).stdout.trim();
    expect(pid).toBe(firstPid);
    // Detached, the engine keeps it; the next shell of the same name hangs it up before it starts.
    first.close();
    expect((await driver.exec(id, ['sh', '-c', `kill -0 ${pid} && echo alive`])).stdout).toBe('alive\n');
    const second = await driver.execTerminal!(id, { name: '2', cols: 80, rows: 24 });
    // Gone by the time the new shell is there: no /proc entry, or a zombie waiting for the engine to reap it.
    const state = `sed -n 's/^.*) \\(.\\).*$/\\1/p' /proc/${pid}/stat 2>/dev/null`;
    const gone = await driver.exec(id, ['sh', '-c', `s=$(${state}); [ -n "$s" ] && [ "$s" != Z ] && echo alive || echo gone`]);
    expect(gone.stdout).toBe('gone\n');
    const works = waitForOutput(second, /second-7/);
    second.write('echo second-$((3+4))\r');
    await works;
    second.close();
  });

  it('runs a program with its exit status and both streams', async () => {
    const r = await driver.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const env = await driver.exec(id, ['sh', '-c', 'echo "$CONTRACT"'], { env: { CONTRACT: 'yes' } });
    expect(env.stdout).toBe('yes\n');
  });

  it('bounds an exec by time and by output, and keeps the head and tail of long output', async () => {
    const slow = driver.exec(id, ['sleep', '30'], { timeoutMs: 500 });
    await expect(slow).rejects.toBeInstanceOf(ExecLimitError);
    await expect(slow).rejects.toMatchObject({ limit: 'timeout' });
    const flood = driver.exec(id, ['sh', '-c', 'yes flood'], { maxReadBytes: 256 * 1024, timeoutMs: 20_000 });
    await expect(flood).rejects.toMatchObject({ limit: 'output' });
    const long = await driver.exec(id, ['sh', '-c', 'echo first; head -c 200000 /dev/zero | tr "\\0" x; echo; echo last'], {
      maxOutputBytes: 1024,
      tailBytes: 64,
    });
    expect(long.truncated).toBe(true);
    expect(long.stdout.startsWith('first\n')).toBe(true);
    expect(long.stdout.trimEnd().endsWith('last')).toBe(true);
    expect(long.stdout.length).toBeLessThan(4096);
  });

  it('states files, directories, links (followed or not) and missing paths without running anything', async () => {
    await driver.copyIn(id, '/tmp', packFiles([{ name: 'contract/file.txt', content: 'hello\n', mode: 0o640 }]));
    await driver.copyIn(id, '/tmp/contract', linkTar('link', '/tmp/contract/file.txt'));
    await driver.copyIn(id, '/tmp/contract', linkTar('loop', '/tmp/contract/loop'));
    expect(await driver.statPath(id, '/tmp/contract/file.txt')).toEqual({ type: 'file', mode: 0o640, size: 6, linkTarget: null });
    expect(await driver.statPath(id, '/tmp/contract')).toMatchObject({ type: 'directory' });
    expect(await driver.statPath(id, '/tmp/contract/link')).toMatchObject({ type: 'symlink', linkTarget: '/tmp/contract/file.txt' });
    expect(await driver.statPath(id, '/tmp/contract/link', { follow: true })).toMatchObject({ type: 'file', size: 6 });
    expect(await driver.statPath(id, '/tmp/contract/missing')).toBeNull();
    expect(await driver.statPath(id, '/tmp/contract/file.txt/below')).toBeNull();
    // A link loop followed is no usable path: null, never a hang or an engine error.
    expect(await driver.statPath(id, '/tmp/contract/loop', { follow: true })).toBeNull();
  });

  it('makes missing directories (and refuses a path through a file)', async () => {
    await driver.makeDirs(id, '/srv/contract/a/b');
    expect(await driver.statPath(id, '/srv/contract/a/b')).toMatchObject({ type: 'directory', mode: 0o755 });
    await driver.makeDirs(id, '/srv/contract/a/b'); // already there: success
    await expect(driver.makeDirs(id, '/tmp/contract/file.txt/sub')).rejects.toThrow();
  });

  it('copies files in and out as tar, links kept as links; a missing path is a 404', async () => {
    const entries = await readTar(await driver.copyOut(id, '/tmp/contract'));
    expect(entries.get('contract/file.txt')).toMatchObject({ type: 'file', content: 'hello\n' });
    expect(entries.get('contract/link')).toMatchObject({ type: 'symlink', linkname: '/tmp/contract/file.txt' });
    await expect(driver.copyOut(id, '/tmp/nothing-here')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lists the sandbox processes from outside, the shell among them (or refuses, saying why)', async () => {
    if (!d.listsProcesses) {
      await expect(driver.processes(id)).rejects.toThrow(/cannot list the processes of a sandbox under the \w+ runtime/);
      return;
    }
    const list = await driver.processes(id);
    expect(list.some((p) => /\bbash\b/.test(p.args) && p.uid === 0)).toBe(true);
    expect(list.every((p) => Number.isInteger(p.pid) && p.pid > 0)).toBe(true);
  });

  it('lists what differs from the image, as the engine records it: added, changed, deleted; cut at a byte cap', async () => {
    const r = await driver.exec(id, ['sh', '-c', 'echo x > /tmp/changed-new.txt && echo y >> /etc/issue && rm /etc/motd']);
    expect(r.exitCode, r.stderr).toBe(0);
    const { changes, truncated } = await driver.changes(id);
    expect(truncated).toBe(false);
    expect(changes).toEqual(expect.arrayContaining([
      { path: '/tmp/changed-new.txt', kind: 'added' },
      { path: '/etc/issue', kind: 'changed' },
      { path: '/etc/motd', kind: 'deleted' },
    ]));
    expect(changes.some((c) => c.path === '/etc/passwd')).toBe(false);
    const cut = await driver.changes(id, { maxBytes: 80 });
    expect(cut.truncated).toBe(true);
    expect(cut.changes.length).toBeLessThan(changes.length);
    expect(changes).toEqual(expect.arrayContaining(cut.changes));
  });

  it('runs a job beside the sandbox: files copied in before it starts, commands as a user with caps', async () => {
    const job = await driver.createJob({ role: 'grader', image: d.jobImage, limits, hardening: 'grader', attemptId, start: false });
    made.push(job);
    await driver.copyIn(job, '/tmp', packFiles([{ name: 'job/input.txt', content: 'from the server\n' }], { uid: 10001, gid: 10001 }));
    await driver.start(job);
    const r = await driver.execJob(job, ['sh', '-c', 'id -u; pwd; cat input.txt; echo "$X"'], {
      workdir: '/tmp/job',
      env: { X: 'env-ok' },
      timeoutMs: 20_000,
      maxOutputBytes: 4096,
    });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, truncated: false });
    expect(r.stdout.split('\n')).toEqual(['10001', '/tmp/job', 'from the server', 'env-ok', '']);
    const capped = await driver.execJob(job, ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" y'], { timeoutMs: 20_000, maxOutputBytes: 100 });
    expect(capped.truncated).toBe(true);
    expect(capped.stdout.length).toBeLessThanOrEqual(200);
    const slow = await driver.execJob(job, ['sleep', '30'], { timeoutMs: 500, maxOutputBytes: 100 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: null });
    expect((await driver.listJobs()).map((j) => j.id)).toContain(job);
    await driver.remove(job);
    expect((await driver.listJobs()).map((j) => j.id)).not.toContain(job);
  }, 60_000);

  it('stops and removes idempotently; a removed sandbox inspects as null', async () => {
    await driver.stop(id, 1);
    await driver.stop(id, 1);
    expect((await driver.inspect(id))!.runState).toBe('exited');
    await driver.remove(id);
    await driver.remove(id);
    expect(await driver.inspect(id)).toBeNull();
    expect((await driver.listManaged()).map((s) => s.id)).not.toContain(id);
  }, 60_000);
});
