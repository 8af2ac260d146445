// Item 29, image builds: the candidate controls a Dockerfile and its context, and the build runs their RUN steps.
// A RUN reaches no network (the engine host's own address included); a base image outside the allow-list (the
// grader's image first) and an ARG before FROM are refused before anything runs; the context's links and `..` never
// read a host file; a fork bomb stops at the process limit; output, disk and time are bounded; an oversized context
// is refused; no container or image of a build is left behind.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import tarStream from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { DockerfileError, parseDockerfile } from '../../server/src/grading/dockerfile.js';
import { GRADER_IMAGE_TAG } from '../../server/src/images/index.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { BUILD_LABEL } from '../../server/src/sandbox/drivers/docker/image-build.js';
import type { DockerfileInstruction, ImageBuildSpec } from '../../server/src/sandbox/image-build-spec.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';
import { figure, SANDBOX_RUNTIME } from '../helpers/figures.js';

const ITEM = '29 image builds';
const BASE = 'opslab/sandbox-base:latest';
const MiB = 1024 * 1024;
const policy = loadConfig({ OPSLAB_SANDBOX_RUNTIME: SANDBOX_RUNTIME }).sandbox;
const instance = `ibs${process.pid}`;
/** Small limits keep the test quick; a clean room's defaults are 1 GiB / 1 CPU / 512 processes. */
const LIMITS = { memoryMb: 256, cpus: 1, pids: 64 };

type Entry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; body?: string; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const done = buffer(pack as unknown as Readable);
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
    else pack.entry({ name: e.name, type, linkname: e.linkname, mode: type === 'directory' ? 0o755 : 0o777 });
  }
  pack.finalize();
  return done;
}

async function spec(dockerfile: string, over: Partial<ImageBuildSpec> = {}): Promise<ImageBuildSpec> {
  return {
    instructions: parseDockerfile(dockerfile, { allowedBaseImages: [BASE] }).instructions,
    context: await tarOf([{ name: 'hello.txt', body: 'hello\n' }]),
    allowedBaseImages: [BASE],
    limits: LIMITS,
    timeoutMs: 60_000,
    maxContextBytes: MiB,
    maxStepOutputBytes: 16 * 1024,
    maxLogBytes: 64 * 1024,
    diskQuotaBytes: 0,
    ...over,
  };
}

async function leftovers(): Promise<number> {
  const label = [`${LABELS.instance}=${instance}`, BUILD_LABEL];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  const images = await docker.listImages({ all: true, filters: { label } } as object);
  return containers.length + images.length;
}

/** Containers the engine created for this installation's builds since `since` (from its event log). */
async function containersCreatedSince(since: number): Promise<number> {
  const stream = await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { type: ['container'], event: ['create'], label: [`${LABELS.instance}=${instance}`] },
  });
  let text = '';
  for await (const c of stream as unknown as AsyncIterable<Buffer>) text += c.toString();
  const events = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { timeNano: number });
  return events.filter((e) => e.timeNano / 1e6 >= since).length;
}

describe(`security 29: image builds (${SANDBOX_RUNTIME})`, () => {
  let driver: DockerDriver;
  let gateway: string;

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance, policy, extraLabels: testLabels() });
    const bridge = await docker.getNetwork('bridge').inspect();
    gateway = (bridge.IPAM?.Config?.[0] as { Gateway?: string } | undefined)?.Gateway ?? '172.17.0.1';
  });
  afterEach(async () => {
    const left = await leftovers();
    expect(left).toBe(0);
  });
  afterAll(async () => {
    figure(ITEM, 'build containers and images left after the tests', await leftovers());
    for (const i of (await driver?.listBuildImages()) ?? []) await driver.removeImage(i.id).catch(() => undefined);
  });

  it("a RUN reaches no network, not even a port listening on the engine host's address", async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      // The control: the port answers on that address (from here).
      await new Promise<void>((resolve, reject) => net.connect(port, gateway).once('connect', function (this: net.Socket) { this.destroy(); resolve(); }).once('error', reject));
      const controlConnections = connections;
      const r = await driver.buildImage(
        await spec(
          `FROM ${BASE}\nRUN (echo x > /dev/tcp/${gateway}/${port}) 2>&1 && echo "TCP-REACHED-$((40+2))"; ` +
            `curl -sS -m 5 http://${gateway}:${port}/ 2>&1 && echo "HTTP-REACHED-$((40+2))"; ` +
            `curl -sS -m 5 http://example.com/ 2>&1 && echo "NET-REACHED-$((40+2))"; ip -o addr | grep -v ' lo ' || echo "only-loopback-$((40+2))"; ` +
            `grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status`,
        ),
      );
      if (!r.ok) throw new Error(r.message + r.log);
      await driver.removeImage(r.imageId);
      expect(r.log).not.toMatch(/REACHED-42/);
      expect(r.log).toContain('only-loopback-42');
      expect(r.log).toMatch(/Network is unreachable|Could not resolve|Couldn't connect/);
      expect(connections - controlConnections).toBe(0);
      // The step's posture: a sandbox's capabilities (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
      // NET_BIND_SERVICE: 0x4fb), no-new-privileges where the kernel reports it.
      expect(/CapEff:\s+([0-9a-f]+)/.exec(r.log)?.[1]).toBe('00000000000004fb');
      expect(/CapBnd:\s+([0-9a-f]+)/.exec(r.log)?.[1]).toBe('00000000000004fb');
      const nnp = /NoNewPrivs:\s+(\d)/.exec(r.log)?.[1];
      if (nnp !== undefined) expect(nnp).toBe('1');
      figure(ITEM, 'RUN step effective capabilities / no_new_privs', `${/CapEff:\s+([0-9a-f]+)/.exec(r.log)?.[1]} / ${nnp ?? 'not reported'}`);
      figure(ITEM, `connections to ${gateway}:<port> from a RUN (control from the host: ${controlConnections})`, connections - controlConnections);
    } finally {
      server.close();
    }
  });

  it('refuses the grader image, any image outside the allow-list and ARG before FROM before anything runs', async () => {
    const refusals: [string, string][] = [
      [`FROM ${GRADER_IMAGE_TAG}\nRUN touch /pwned`, 'not an allowed base image'],
      ['FROM opslab/grader\nRUN touch /pwned', 'not an allowed base image'],
      ['FROM debian:bookworm-slim\nRUN touch /pwned', 'not an allowed base image'],
      [`FROM ${BASE}\nCOPY --from=${GRADER_IMAGE_TAG} /exercise /x`, 'not an earlier stage'],
      [`ARG B=${GRADER_IMAGE_TAG}\nFROM $B`, 'ARG before the first FROM'],
    ];
    for (const [text, why] of refusals) {
      expect(() => parseDockerfile(text, { allowedBaseImages: [BASE] })).toThrow(DockerfileError);
      expect(() => parseDockerfile(text, { allowedBaseImages: [BASE] })).toThrow(why);
    }
    figure(ITEM, 'hostile FROM / COPY --from / ARG-before-FROM Dockerfiles refused by the reader', refusals.length);
    // The build checks again, before any step: instructions that did not come through the reader.
    const since = Date.now();
    const instructions: DockerfileInstruction[] = [
      { line: 1, text: `FROM ${BASE}`, kind: 'FROM', base: { kind: 'image', ref: BASE }, name: null },
      { line: 2, text: 'RUN touch /pwned', kind: 'RUN', form: 'shell', command: 'touch /pwned' },
      { line: 3, text: `FROM ${GRADER_IMAGE_TAG}`, kind: 'FROM', base: { kind: 'image', ref: GRADER_IMAGE_TAG }, name: null },
    ];
    const given = { ...(await spec(`FROM ${BASE}`)), instructions };
    const t = Date.now();
    const r = await driver.buildImage(given);
    const ms = Date.now() - t;
    expect(r).toMatchObject({ ok: false, reason: 'refused', line: 3 });
    expect(r.history).toEqual([]);
    expect(await containersCreatedSince(since)).toBe(0);
    figure(ITEM, 'grader image given to the build directly: refused after', ms, 'ms');
    figure(ITEM, 'containers created for that build', 0);
  });

  it("the context's links, hard links and .. never read a host file", async () => {
    const canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-canary-'));
    const canary = path.join(canaryDir, 'host-secret.txt');
    const secret = `host-canary-${process.pid}`;
    fs.writeFileSync(canary, secret);
    try {
      const through = async (entries: Entry[], dockerfile: string) => driver.buildImage(await spec(dockerfile, { context: await tarOf(entries) }));
      const refused: { what: string; message: string }[] = [];
      const attempts: [string, Entry[], string][] = [
        ['COPY through a link to a host directory', [{ name: 'hostdir', type: 'symlink', linkname: canaryDir }], 'COPY hostdir/host-secret.txt /x'],
        ['an entry with ..', [{ name: '../../../../etc/passwd', body: 'x' }], 'COPY . /x'],
        ['an entry under a link', [{ name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/cron.d/evil', body: '* * * * * root id' }], 'COPY . /x'],
        ['a hard link to a host file', [{ name: 'h', type: 'link', linkname: canary }], 'COPY h /x'],
        ['COPY of ..', [{ name: 'a', body: 'a' }], 'COPY a/../../.. /x'],
      ];
      for (const [what, entries, copy] of attempts) {
        let message: string;
        try {
          const r = await through(entries, `FROM ${BASE}\n${copy}`);
          expect(r.ok).toBe(false);
          if (r.ok) throw new Error('built');
          expect(r.reason).toBe('refused');
          message = r.message;
        } catch (err) {
          if (!(err instanceof DockerfileError)) throw err;
          message = err.message;
        }
        refused.push({ what, message });
      }
      // A link itself is copied as a link: the image holds the link, and what it names is the image's own path.
      const r = await through(
        [{ name: 'hostdir', type: 'symlink', linkname: canaryDir }, { name: 'file', type: 'symlink', linkname: canary }],
        `FROM ${BASE}\nCOPY hostdir file /copied/\nRUN readlink /copied/file; cat /copied/file 2>&1; ls /copied/hostdir/ 2>&1; true`,
      );
      if (!r.ok) throw new Error(r.message + r.log);
      await driver.removeImage(r.imageId);
      expect(r.log).toContain(canary); // readlink: the link's text
      expect(r.log).not.toContain(secret);
      expect(r.log).toMatch(/No such file or directory/);
      for (const x of refused) expect(x.message, x.what).not.toContain(secret);
      figure(ITEM, 'context link/.. tricks refused', refused.length);
      figure(ITEM, 'host canary bytes in the build log or image', 0);
    } finally {
      fs.rmSync(canaryDir, { recursive: true, force: true });
    }
  });

  it('a RUN fork bomb stops at the process limit', async () => {
    const script = [
      'import os, time',
      'n = 0',
      'try:',
      '    while n < 100000:',
      '        if os.fork() == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        n += 1',
      'except OSError as e:',
      '    print("FORKS", n, e.strerror)',
    ].join('\n');
    const t = Date.now();
    const b64 = Buffer.from(script).toString('base64');
    const r = await driver.buildImage(await spec(`FROM ${BASE}\nRUN echo ${b64} | base64 -d > /bomb.py && python3 /bomb.py`));
    const ms = Date.now() - t;
    if (!r.ok) throw new Error(r.message + r.log);
    await driver.removeImage(r.imageId);
    const m = /FORKS (\d+)/.exec(r.log);
    expect(m, r.log).not.toBeNull();
    const forks = Number(m![1]);
    expect(forks).toBeLessThan(LIMITS.pids);
    expect(ms).toBeLessThan(45_000);
    figure(ITEM, `fork bomb: processes made before the kernel refused (limit ${LIMITS.pids})`, forks);
    figure(ITEM, 'fork bomb: build time', ms, 'ms');
  });

  it('a RUN writing forever is stopped: output, disk and time', async () => {
    let t = Date.now();
    const flood = await driver.buildImage(await spec(`FROM ${BASE}\nRUN yes opslab-flood`));
    const floodMs = Date.now() - t;
    expect(flood).toMatchObject({ ok: false, reason: 'output', line: 2 });
    expect(flood.log.length).toBeLessThan(80 * 1024);
    figure(ITEM, 'output flood: stopped after', floodMs, 'ms');
    figure(ITEM, 'output flood: log kept', flood.log.length, 'bytes');

    // Many files: the layer's sampling stops the step. One file: it cannot grow past the quota at all.
    const quota = 64 * MiB;
    t = Date.now();
    const fill = await driver.buildImage(
      await spec(`FROM ${BASE}\nRUN for i in $(seq 1 100000); do head -c 4M /dev/zero > /fill.$i || exit 1; done`, { diskQuotaBytes: quota }),
    );
    const fillMs = Date.now() - t;
    expect(fill).toMatchObject({ ok: false, reason: 'disk', line: 2 });
    const written = Number(/wrote (\d+) bytes/.exec(fill.ok ? '' : fill.message)?.[1]);
    figure(ITEM, `disk fill, many files: stopped at (quota ${quota / MiB} MiB)`, Math.round(written / MiB), 'MiB');
    figure(ITEM, 'disk fill, many files: stopped after', fillMs, 'ms');
    const one = await driver.buildImage(
      await spec(`FROM ${BASE}\nRUN dd if=/dev/zero of=/fill bs=1M count=100000; echo SIZE $(wc -c < /fill); exit 1`, { diskQuotaBytes: quota }),
    );
    expect(one).toMatchObject({ ok: false, reason: 'failed', line: 2 });
    const size = Number(/SIZE (\d+)/.exec(one.log)?.[1]);
    expect(size, one.log).toBeLessThanOrEqual(quota);
    figure(ITEM, `disk fill, one file: its size when the kernel refused (quota ${quota / MiB} MiB)`, Math.round(size / MiB), 'MiB');

    // The quota is the build's, not each step's: two steps of 40 MiB each do not fit in 64 MiB.
    const twoSteps = await driver.buildImage(
      await spec(`FROM ${BASE}\nRUN for i in $(seq 1 10); do head -c 4M /dev/zero > /a.$i; done\nRUN for i in $(seq 1 10); do head -c 4M /dev/zero > /b.$i; done`, {
        diskQuotaBytes: quota,
      }),
    );
    expect(twoSteps).toMatchObject({ ok: false, reason: 'disk', line: 3 });
    figure(ITEM, 'two RUN steps of 40 MiB each under a 64 MiB quota: the second stopped', twoSteps.ok ? 'no' : 'yes');

    t = Date.now();
    const slow = await driver.buildImage(await spec(`FROM ${BASE}\nRUN sleep 600`, { timeoutMs: 4000 }));
    const slowMs = Date.now() - t;
    expect(slow).toMatchObject({ ok: false, reason: 'timeout', line: 2 });
    expect(slowMs).toBeLessThan(15_000);
    figure(ITEM, 'RUN sleep 600 with a 4 s build limit: stopped after', slowMs, 'ms');
  });

  it('refuses a context over the cap before anything runs, reading no more than the cap', async () => {
    const since = Date.now();
    const big = await tarOf([{ name: 'big.bin', body: 'x'.repeat(2 * MiB) }]);
    const fromBuffer = await driver.buildImage(await spec(`FROM ${BASE}\nCOPY big.bin /`, { context: big }));
    expect(fromBuffer).toMatchObject({ ok: false, reason: 'refused', message: `the build context is over ${MiB} bytes` });
    let read = 0;
    const endless = new Readable({
      read() {
        read += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    const fromStream = await driver.buildImage(await spec(`FROM ${BASE}\nCOPY big.bin /`, { context: endless }));
    expect(fromStream).toMatchObject({ ok: false, reason: 'refused' });
    expect(read).toBeLessThan(2 * MiB);
    expect(await containersCreatedSince(since)).toBe(0);
    figure(ITEM, `endless context stream: bytes read before the refusal (cap ${MiB})`, read, 'bytes');
  });
});
