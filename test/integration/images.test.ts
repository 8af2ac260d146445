import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOrder,
  CONTENT_HASH_LABEL,
  contextHash,
  dockerfileBases,
  ensureImages,
  listTargets,
  sandboxImageTag,
  type ImageResult,
} from '../../server/src/images/index.js';
import { imageAptSources, parseDeb822Sources, parseOneLineSources, resolveDebianMirror } from '../../server/src/images/apt.js';
import { repoRoot } from '../../server/src/paths.js';
import { DockerImageEngine } from '../../server/src/sandbox/drivers/docker/image-engine.js';
import { docker, requireDocker, testLabels } from '../helpers/docker.js';

const engine = new DockerImageEngine(docker);
const lines: string[] = [];
const log = (line: string) => lines.push(line);

async function runInImage(image: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Tty: true,
    Labels: testLabels(),
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

async function imageLabel(tag: string): Promise<string | undefined> {
  const info = await docker.getImage(tag).inspect();
  return info.Config?.Labels?.[CONTENT_HASH_LABEL];
}

describe('image builds (real engine)', () => {
  beforeAll(async () => {
    await requireDocker();
  });

  it('ensureImages is idempotent: the second call builds nothing', async () => {
    const root = repoRoot();
    const t1 = performance.now();
    const first = await ensureImages({ engine, repoRoot: root, log });
    const firstMs = performance.now() - t1;
    const t2 = performance.now();
    const second = await ensureImages({ engine, repoRoot: root, log });
    const secondMs = performance.now() - t2;
    process.stdout.write(`[images] first call ${Math.round(firstMs)} ms, second call ${Math.round(secondMs)} ms\n`);

    const names = (r: ImageResult[]) => r.map((x) => x.tag);
    expect(names(second)).toEqual(names(first));
    expect(names(first)).toContain('debian:bookworm-slim');
    expect(names(first)).toContain(sandboxImageTag('base'));
    for (const r of second) expect(r, `${r.tag} rebuilt on the second call`).toMatchObject({ built: false });
    // A no-op is a few inspects: generous bound, only to catch a hidden rebuild.
    expect(secondMs).toBeLessThan(30_000);
    for (const r of first) await expect(docker.getImage(r.tag).inspect()).resolves.toBeTruthy();
  }, 30 * 60_000);

  it('the base sandbox has git and python3 in a login shell', async () => {
    const { code, output } = await runInImage(sandboxImageTag('base'), ['bash', '-lc', 'git --version && python3 --version']);
    expect(code, output).toBe(0);
    expect(output).toMatch(/git version \d+\.\d+/);
    expect(output).toMatch(/Python 3\.\d+/);
  }, 120_000);

  it('the base sandbox prompt and environment are set', async () => {
    const { code, output } = await runInImage(sandboxImageTag('base'), [
      'bash',
      '-lic',
      'echo "PS1=$PS1"; echo "TERM=$TERM LANG=$LANG"; pwd',
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('root@sandbox');
    expect(output).toContain('TERM=xterm-256color LANG=C.UTF-8');
    expect(output).toMatch(/^\/root\r?$/m);
    expect(output).not.toMatch(/mesg|ttyname/);
  }, 120_000);

  describe('content hash', () => {
    const name = `opslab-test-${process.pid}-${Date.now().toString(36)}`;
    const tag = sandboxImageTag(name);
    let tmpRoot = '';
    const ids = new Set<string>();

    beforeAll(() => {
      tmpRoot = mkdtempSync(path.join(tmpdir(), 'opslab-images-test-'));
      const ctx = path.join(tmpRoot, 'sandboxes', name);
      cpSync(path.join(repoRoot(), 'sandboxes', 'base'), ctx, { recursive: true });
      // A tiny image on the same base: no package installs, builds in seconds.
      writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM debian:bookworm-slim\nCOPY marker.txt /marker.txt\nCMD ["cat", "/marker.txt"]\n');
      writeFileSync(path.join(ctx, 'marker.txt'), 'one\n');
    });

    afterAll(async () => {
      for (const ref of [tag, ...ids]) await docker.getImage(ref).remove({ force: true }).catch(() => undefined);
      if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
    });

    it('changes when a file in the context changes, and only then', async () => {
      const ctx = path.join(tmpRoot, 'sandboxes', name);
      const build = async () => {
        const res = await ensureImages({ engine, repoRoot: tmpRoot, log });
        const mine = res.find((r) => r.tag === tag);
        expect(mine, JSON.stringify(res)).toBeDefined();
        const info = await docker.getImage(tag).inspect();
        ids.add(info.Id);
        return { built: mine!.built, hash: await imageLabel(tag), id: info.Id };
      };

      const a = await build();
      expect(a.built).toBe(true);
      expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);

      const again = await build();
      expect(again).toEqual({ ...a, built: false });

      writeFileSync(path.join(ctx, 'marker.txt'), 'two\n');
      const b = await build();
      expect(b.built).toBe(true);
      expect(b.hash).not.toBe(a.hash);
      expect(b.id).not.toBe(a.id);
      expect((await runInImage(tag, ['cat', '/marker.txt'])).output.trim()).toBe('two');

      // The image the rebuild replaced is removed (nothing uses it).
      await expect(docker.getImage(a.id).inspect()).rejects.toMatchObject({ statusCode: 404 });

      // The exec bit is part of the content too.
      const base = (await docker.getImage('debian:bookworm-slim').inspect()).Id;
      const before = contextHash(ctx, [base]);
      writeFileSync(path.join(ctx, 'run.sh'), '#!/bin/sh\n', { mode: 0o644 });
      const plain = contextHash(ctx, [base]);
      rmSync(path.join(ctx, 'run.sh'));
      writeFileSync(path.join(ctx, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
      expect(new Set([before, plain, contextHash(ctx, [base])]).size).toBe(3);
      // ... and so is the base image.
      expect(contextHash(ctx, ['sha256:other'])).not.toBe(contextHash(ctx, [base]));
    }, 10 * 60_000);
  });
});

describe('image helpers', () => {
  it('dockerfileBases skips build stages and scratch', () => {
    const df = 'FROM node:20-bookworm-slim AS build\nRUN x\nFROM build AS more\nFROM --platform=linux/amd64 debian:bookworm-slim\nFROM scratch\n';
    expect(dockerfileBases(df)).toEqual(['node:20-bookworm-slim', 'debian:bookworm-slim']);
  });

  it('buildOrder builds an image before those FROM it, keeps the given order otherwise, and names a circle', () => {
    const t = (name: string) => ({ name, tag: `opslab/sandbox-${name}:latest`, contextDir: `/x/${name}` });
    const from: Record<string, string[]> = {
      ci: ['opslab/sandbox-base:latest'],
      base: ['debian:bookworm-slim'],
      terraform: ['node:20-bookworm-slim', 'opslab/sandbox-base:latest'],
      grader: ['debian:bookworm-slim'],
    };
    const order = buildOrder([t('ci'), t('grader'), t('terraform'), t('base')], (x) => from[x.name]!);
    expect(order.map((x) => x.name)).toEqual(['base', 'ci', 'grader', 'terraform']);
    const circle: Record<string, string[]> = { a: ['opslab/sandbox-b:latest'], b: ['opslab/sandbox-a:latest'] };
    expect(() => buildOrder([t('a'), t('b')], (x) => circle[x.name]!)).toThrow('a -> b -> a');
    // The shipped images: the base first, every other sandbox after it.
    const shipped = buildOrder(listTargets(repoRoot()), (x) => dockerfileBases(readFileSync(path.join(x.contextDir, 'Dockerfile'), 'utf8')));
    expect(shipped[0]!.name).toBe('sandbox/base');
  });

  it('sandboxImageTag names the image and refuses odd names', () => {
    expect(sandboxImageTag('base')).toBe('opslab/sandbox-base:latest');
    expect(() => sandboxImageTag('../x')).toThrow();
    expect(() => sandboxImageTag('Upper')).toThrow();
  });

  it('reads the Debian mirror from deb822 and one-line apt sources', () => {
    const deb822 = parseDeb822Sources(
      'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n' +
        'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
        'Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\n' +
        'Types: deb\nURIs: https://vendor.example/linux/debian\nSuites: bookworm\nComponents: stable\n',
    );
    expect(resolveDebianMirror(undefined, deb822)).toBe('http://mirror.example/debian');
    expect(imageAptSources('http://mirror.example/debian', deb822)).toEqual([
      { uris: ['http://mirror.example/debian'], suites: ['bookworm', 'bookworm-updates'], components: ['main'] },
      { uris: ['http://mirror.example/debian-security'], suites: ['bookworm-security'], components: ['main'] },
    ]);
    // An explicit mirror the host does not use: just bookworm main from it.
    expect(imageAptSources('http://other.example/debian', deb822)).toEqual([
      { uris: ['http://other.example/debian'], suites: ['bookworm'], components: ['main'] },
    ]);
    const oneLine = parseOneLineSources('# comment\ndeb [arch=amd64] http://m.example/debian/ bookworm main contrib\n');
    expect(resolveDebianMirror(undefined, oneLine)).toBe('http://m.example/debian');
    expect(resolveDebianMirror('http://explicit.example/debian/', oneLine)).toBe('http://explicit.example/debian');
  });
});
