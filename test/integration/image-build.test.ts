// The bounded image build on the real engine: a multi-stage Dockerfile from the platform's base image builds step by
// step; its metadata ends up in the image's configuration; a file added in one step and deleted in a later one is
// still in its layer (what a Containers exercise grades); the built image runs as a clean-room job; nothing of the
// build is left behind once its image is removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { parseDockerfile } from '../../server/src/grading/dockerfile.js';
import { removeStaleJobs } from '../../server/src/grading/runner.js';
import { DEFAULT_CLEANROOM_LIMITS } from '../../server/src/grading/cleanroom.js';
import { packFiles } from '../../server/src/local-tar.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { BUILD_LABEL } from '../../server/src/sandbox/drivers/docker/image-build.js';
import type { ImageBuildSpec } from '../../server/src/sandbox/image-build-spec.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';
import { readTarEntries } from '../helpers/tar.js';

const BASE = 'opslab/sandbox-base:latest';
const policy = loadConfig({}).sandbox;
const instance = `ib${process.pid}`;
const MiB = 1024 * 1024;

const context = () =>
  packFiles([
    { name: 'app/server.sh', content: '#!/bin/sh\necho serving\n', mode: 0o755 },
    { name: 'app/config.yaml', content: 'port: 8080\n' },
    { name: 'secret.env', content: 'API_KEY=s3cret-in-a-layer\n', mode: 0o600 },
  ]);

function spec(dockerfile: string): ImageBuildSpec {
  return {
    instructions: parseDockerfile(dockerfile, { allowedBaseImages: [BASE] }).instructions,
    context: context(),
    allowedBaseImages: [BASE],
    limits: DEFAULT_CLEANROOM_LIMITS,
    timeoutMs: 120_000,
    maxContextBytes: 8 * MiB,
    maxStepOutputBytes: 64 * 1024,
    maxLogBytes: 256 * 1024,
    diskQuotaBytes: 512 * MiB,
    buildArgs: { GREETING: 'hello from the build' },
  };
}

async function leftovers(): Promise<{ containers: number; images: number }> {
  const label = [`${LABELS.instance}=${instance}`, BUILD_LABEL];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  const images = await docker.listImages({ all: true, filters: { label } } as object);
  return { containers: containers.length, images: images.length };
}

describe('image build (docker)', () => {
  let driver: DockerDriver;

  beforeAll(async () => {
    await requireDocker();
    driver = new DockerDriver({ instance, policy, extraLabels: testLabels() });
  });
  afterAll(async () => {
    for (const i of (await driver?.listBuildImages()) ?? []) await driver.removeImage(i.id).catch(() => undefined);
  });

  it('builds a multi-stage Dockerfile with its metadata in the image, its layers as built, and runs it as a clean room', async () => {
    const dockerfile = [
      `FROM ${BASE} AS build`,
      'WORKDIR /src',
      'COPY app/ ./',
      'RUN echo "built from $(cat config.yaml)" > artifact.txt',
      '',
      `FROM ${BASE}`,
      'ARG GREETING=unset',
      'ENV APP_HOME=/srv/app \\',
      '    PATH=/srv/app/bin:$PATH',
      'WORKDIR $APP_HOME',
      'COPY --from=build /src/artifact.txt ./artifact.txt',
      'COPY --from=build /src/server.sh /src/config.yaml /opt/from-build/',
      'COPY --chown=nobody:nogroup --chmod=0755 app/server.sh bin/',
      'COPY secret.env /tmp/secret.env',
      'RUN . /tmp/secret.env && echo "key length ${#API_KEY}" > keylen.txt && rm /tmp/secret.env',
      'RUN useradd -u 1234 -m svc && echo "$GREETING" > greeting.txt',
      'USER svc',
      'HEALTHCHECK --interval=5s --retries=2 CMD test -f /srv/app/artifact.txt',
      'EXPOSE 8080',
      'LABEL org.opslab.team=platform',
      'STOPSIGNAL SIGINT',
      'CMD ["/srv/app/bin/server.sh"]',
    ].join('\n');
    const r = await driver.buildImage(spec(dockerfile));
    if (!r.ok) throw new Error(`${r.message}\n${r.log}`);
    expect(r.tag).toMatch(new RegExp(`^opslab-build/${instance}:[0-9a-f]{16}$`));
    expect(r.history.map((h) => h.line)).toEqual([1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
    const layer = (line: number) => r.history.find((h) => h.line === line)!.layerBytes;
    expect(layer(14)).toBeGreaterThan(0); // the secret's COPY
    expect(layer(17)).toBe(0); // USER: metadata only
    expect(r.log).toContain('#4 RUN echo');

    const info = await docker.getImage(r.imageId).inspect();
    const c = info.Config as typeof info.Config & { Healthcheck?: { Test: string[]; Interval: number; Retries: number }; StopSignal?: string };
    expect(c.User).toBe('svc');
    expect(c.WorkingDir).toBe('/srv/app');
    expect(c.Env).toContain('APP_HOME=/srv/app');
    expect(c.Env.find((e) => e.startsWith('PATH='))).toMatch(/^PATH=\/srv\/app\/bin:\/usr\/local\/sbin:/);
    expect(c.Env.some((e) => e.startsWith('GREETING='))).toBe(false); // an ARG is not in the image
    expect(c.Cmd).toEqual(['/srv/app/bin/server.sh']);
    expect(c.Entrypoint ?? []).toEqual([]);
    expect(c.Healthcheck).toMatchObject({ Test: ['CMD-SHELL', 'test -f /srv/app/artifact.txt'], Interval: 5e9, Retries: 2 });
    expect(Object.keys(c.ExposedPorts ?? {})).toEqual(['8080/tcp']);
    expect(c.Labels['org.opslab.team']).toBe('platform');
    expect(c.Labels[BUILD_LABEL]).toMatch(/^[0-9a-f]{12}$/);
    expect(c.StopSignal).toBe('SIGINT');

    // The secret was deleted by a later step, and is still in the layer of the step that copied it.
    const saved = await readTarEntries((await docker.getImage(r.imageId).get()) as unknown as import('node:stream').Readable);
    const layers = saved.filter((e) => e.name.endsWith('/layer.tar'));
    let found = 0;
    let whiteout = 0;
    for (const l of layers) {
      const entries = await readTarEntries(l.body);
      if (entries.some((e) => e.name === 'tmp/secret.env' && e.body.toString().includes('s3cret-in-a-layer'))) found++;
      if (entries.some((e) => e.name === 'tmp/.wh.secret.env')) whiteout++;
    }
    expect(found).toBe(1);
    expect(whiteout).toBe(1);

    // It runs as a clean-room job: the image's user, working directory and files.
    const job = await driver.createJob({ role: 'cleanroom', image: r.tag, limits: DEFAULT_CLEANROOM_LIMITS, hardening: 'sandbox', labels: testLabels() });
    try {
      const out = await driver.execJob(job, ['sh', '-c', 'id -u; pwd; cat greeting.txt artifact.txt keylen.txt; stat -c "%U %a" bin/server.sh; server.sh; test -e /tmp/secret.env || echo gone; ls /opt/from-build'], {
        timeoutMs: 30_000,
        maxOutputBytes: 64 * 1024,
      });
      expect(out.stderr).toBe('');
      expect(out.stdout.split('\n')).toEqual([
        '1234',
        '/srv/app',
        'hello from the build',
        'built from port: 8080',
        'key length 17',
        'nobody 755',
        'serving',
        'gone',
        'config.yaml',
        'server.sh',
        '',
      ]);
    } finally {
      await driver.remove(job);
    }

    await driver.removeImage(r.tag);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('builds FROM scratch from the context alone', async () => {
    const r = await driver.buildImage(spec('FROM scratch\nCOPY app/ /app/\nWORKDIR /data\nENTRYPOINT ["/app/server.sh"]'));
    if (!r.ok) throw new Error(`${r.message}\n${r.log}`);
    const info = await docker.getImage(r.imageId).inspect();
    expect(info.Config.Entrypoint).toEqual(['/app/server.sh']);
    expect(info.Config.WorkingDir).toBe('/data');
    expect(info.Config.Labels[BUILD_LABEL]).toMatch(/^[0-9a-f]{12}$/); // an imported image is labelled too
    const saved = await readTarEntries((await docker.getImage(r.imageId).get()) as unknown as import('node:stream').Readable);
    const files = (await Promise.all(saved.filter((e) => e.name.endsWith('/layer.tar')).map((l) => readTarEntries(l.body)))).flat().map((e) => e.name);
    expect(files).toEqual(expect.arrayContaining(['app/server.sh', 'app/config.yaml', 'data/']));
    await driver.removeImage(r.tag);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('builds a scratch stage of metadata only, and refuses a stage past the layer limit before it starts', async () => {
    const meta = await driver.buildImage(spec('FROM scratch\nLABEL only=metadata\nCMD ["/nothing"]'));
    if (!meta.ok) throw new Error(`${meta.message}\n${meta.log}`);
    const info = await docker.getImage(meta.imageId).inspect();
    expect(info.Config.Labels.only).toBe('metadata');
    expect(info.Config.Cmd).toEqual(['/nothing']);
    await driver.removeImage(meta.tag);
    const deep = await driver.buildImage(spec([`FROM ${BASE}`, ...Array.from({ length: 130 }, (_, i) => `RUN echo ${i}`)].join('\n')));
    expect(deep).toMatchObject({ ok: false, reason: 'refused', line: 1 });
    expect(deep.ok ? '' : deep.message).toMatch(/layers, over the engine's limit of 125/);
    expect(deep.log).not.toContain('#2 RUN');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('reports a failing RUN with its line and log, and leaves nothing behind', async () => {
    const r = await driver.buildImage(spec(`FROM ${BASE}\nRUN echo step one\nRUN echo about to fail >&2; exit 3\nRUN echo never`));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('failed');
    expect(r.line).toBe(3);
    expect(r.message).toBe('Dockerfile line 3: RUN exited with code 3');
    expect(r.log).toContain('step one');
    expect(r.log).toContain('about to fail');
    expect(r.log).not.toContain('never\n');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it("the stale job sweep removes a build's container mid-step and a built image nobody removed", async () => {
    const kept = await driver.buildImage(spec(`FROM ${BASE}\nRUN echo kept > /kept.txt`));
    if (!kept.ok) throw new Error(kept.message);
    const running = driver.buildImage(spec(`FROM ${BASE}\nRUN sleep 60`));
    const deadline = Date.now() + 20_000;
    while ((await driver.listJobs()).every((j) => j.role !== 'build') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const build = (await driver.listJobs()).find((j) => j.role === 'build');
    expect(build).toBeDefined();
    // As the reconciler does after a server died mid-build (with no age threshold here).
    const removed = await removeStaleJobs(driver, 0);
    expect(removed).toContain(build!.id);
    expect(removed).toContain(kept.imageId);
    // The interrupted build ends (the engine lost its container), and cleans up after itself.
    const outcome = await running.then(
      (r) => (r.ok ? 'built' : r.reason),
      (err: Error) => `engine error: ${err.message.slice(0, 60)}`,
    );
    expect(outcome).not.toBe('built');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });
});
