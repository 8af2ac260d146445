// The image build's pure parts: the context read from a tar (what it refuses), what a COPY puts where, and the
// metadata instructions applied to a stage's configuration.
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../server/src/grading/dockerfile.js';
import { BuildRefusal, copyItems, looksLikeArchive, packItems, readContext, resolveSource } from '../../server/src/sandbox/drivers/docker/build-context.js';
import { applyMetadata, configFromImage, emptyConfig, runArgv, type StageState } from '../../server/src/sandbox/drivers/docker/image-config.js';
import type { DockerfileInstruction } from '../../server/src/sandbox/image-build-spec.js';
import { readTarEntries } from '../helpers/tar.js';

type Entry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory' | 'fifo'; body?: string; linkname?: string; mode?: number };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const done = buffer(pack as unknown as Readable);
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.body ?? '');
    else pack.entry({ name: e.name, type, linkname: e.linkname, mode: e.mode ?? 0o755 });
  }
  pack.finalize();
  return done;
}

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BuildRefusal);
  return (err as Error).message;
};

describe('build context', () => {
  it('reads files, folders and links, and makes missing parents', async () => {
    const ctx = await readContext(
      await tarOf([
        { name: './app/bin/run.sh', body: 'echo\n', mode: 0o755 },
        { name: 'app/link', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'app/hard', type: 'link', linkname: 'app/bin/run.sh' },
        { name: 'pipe', type: 'fifo' },
      ]),
      1024 * 1024,
    );
    expect([...ctx.keys()].sort()).toEqual(['app', 'app/bin', 'app/bin/run.sh', 'app/hard', 'app/link']);
    expect(ctx.get('app/link')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    expect(ctx.get('app/hard')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(ctx.get('app/hard')!.body.toString()).toBe('echo\n');
  });

  it('refuses .., entries under a link, hard links out of it, bad tars and oversized contexts', async () => {
    expect(await refusal(readContext(await tarOf([{ name: 'a/../../x' }]), 1e6))).toMatch(/has a "\.\." in its path/);
    expect(await refusal(readContext(await tarOf([{ name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/x' }]), 1e6))).toMatch(/lies under the link "l"/);
    expect(await refusal(readContext(await tarOf([{ name: 'h', type: 'link', linkname: '/etc/shadow' }]), 1e6))).toMatch(/points outside it/);
    expect(await refusal(readContext(Buffer.from('not a tar at all, but long enough to be read as a header block'.repeat(20)), 1e6))).toMatch(/not a readable tar/);
    expect(await refusal(readContext(await tarOf([{ name: 'big', body: 'x'.repeat(5000) }]), 4096))).toMatch(/over 4096 bytes/);
  });

  it('resolves sources: a path, a pattern, never through a link', async () => {
    const ctx = await readContext(
      await tarOf([{ name: 'src/a.js' }, { name: 'src/b.js' }, { name: 'src/c.txt' }, { name: 'l', type: 'symlink', linkname: 'src' }]),
      1e6,
    );
    expect(resolveSource(ctx, 'src/*.js').map((e) => e.path)).toEqual(['src/a.js', 'src/b.js']);
    expect(resolveSource(ctx, './src/c.txt').map((e) => e.path)).toEqual(['src/c.txt']);
    expect(resolveSource(ctx, '/src/c.txt').map((e) => e.path)).toEqual(['src/c.txt']);
    expect(resolveSource(ctx, 'l')[0]).toMatchObject({ type: 'symlink' });
    expect(() => resolveSource(ctx, 'l/a.js')).toThrow(/"l" is a link, and links are not followed/);
    expect(() => resolveSource(ctx, '*.md')).toThrow(/matches nothing/);
    expect(() => resolveSource(ctx, 'src/../../x')).toThrow(BuildRefusal);
  });

  it('puts a folder’s contents under the destination, a file at it or into it', async () => {
    const ctx = await readContext(await tarOf([{ name: 'app/x.txt', body: 'x' }, { name: 'app/sub/y.txt', body: 'y' }, { name: 'one.txt', body: '1' }]), 1e6);
    const names = (dest: string, src: string, dir: boolean) => copyItems(ctx, resolveSource(ctx, src), dest, dir).map((i) => i.name);
    expect(names('/srv/app', 'app', false)).toEqual(['srv/app/sub', 'srv/app/sub/y.txt', 'srv/app/x.txt']);
    expect(names('/etc/one.conf', 'one.txt', false)).toEqual(['etc/one.conf']);
    expect(names('/etc/', 'one.txt', true)).toEqual(['etc/one.txt']);
    expect(() => copyItems(ctx, resolveSource(ctx, 'one.txt'), '/', false)).toThrow(/over \//);
    const tar = await readTarEntries(packItems(copyItems(ctx, resolveSource(ctx, 'one.txt'), '/opt/', true), { uid: 1000, gid: 1001 }, 0o600));
    expect(tar).toMatchObject([{ name: 'opt/one.txt', uid: 1000, mode: 0o600 }]);
  });

  it('knows archives by their bytes', () => {
    expect(looksLikeArchive(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe(true);
    expect(looksLikeArchive(Buffer.from('BZh91AY'))).toBe(true);
    const tar = Buffer.alloc(512);
    tar.write('ustar', 257);
    expect(looksLikeArchive(tar)).toBe(true);
    expect(looksLikeArchive(Buffer.from('#!/bin/sh\necho hi\n'))).toBe(false);
  });
});

describe('stage configuration', () => {
  const stage = (): StageState => ({
    image: 'sha256:x',
    size: 0,
    config: configFromImage({ Env: ['PATH=/usr/bin'], Cmd: ['bash'], Labels: { 'opslab.build': 'old', team: 'a' } }),
    args: new Map(),
    cmdSet: false,
  });
  const apply = (s: StageState, text: string, buildArgs: Record<string, string> = {}) => {
    const ins = parseDockerfile(`FROM scratch\n${text}`, { allowedBaseImages: [] }).instructions.slice(1);
    for (const i of ins) if (!applyMetadata(s, i, buildArgs)) throw new Error(`not metadata: ${i.text}`);
  };

  it('applies ENV, ARG, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL, SHELL and HEALTHCHECK as the engine’s builder does', () => {
    const s = stage();
    expect(s.config.Labels).toEqual({ team: 'a' }); // the platform's own labels are not the image's
    apply(s, 'ARG V=1\nARG W\nENV APP=/app PATH=/app/bin:$PATH\nWORKDIR $APP\nWORKDIR sub\nUSER ${U:-svc}\nLABEL v=$V\nEXPOSE 80 53/UDP\nVOLUME /data\nSTOPSIGNAL SIGINT', { V: '2' });
    expect(s.config.Env).toEqual(['PATH=/app/bin:/usr/bin', 'APP=/app']);
    expect(s.args).toEqual(new Map([['V', '2']]));
    expect(s.config).toMatchObject({ WorkingDir: '/app/sub', User: 'svc', Labels: { team: 'a', v: '2' }, StopSignal: 'SIGINT' });
    expect(Object.keys(s.config.ExposedPorts)).toEqual(['80/tcp', '53/udp']);
    expect(Object.keys(s.config.Volumes)).toEqual(['/data']);
    apply(s, 'SHELL ["/bin/bash", "-c"]\nHEALTHCHECK --timeout=3s CMD curl -f localhost');
    expect(s.config.Healthcheck).toEqual({ Test: ['CMD', '/bin/bash', '-c', 'curl -f localhost'], Timeout: 3e9 });
    expect(() => apply(s, 'EXPOSE $NOPE')).toThrow(/not a port/);
  });

  it('ENTRYPOINT drops an inherited CMD but not one of the stage; shell forms use the stage’s SHELL', () => {
    const s = stage();
    apply(s, 'ENTRYPOINT ["/run"]');
    expect(s.config).toMatchObject({ Entrypoint: ['/run'], Cmd: null });
    const t = stage();
    apply(t, 'CMD serve\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT exec /run');
    expect(t.config).toMatchObject({ Cmd: ['/bin/sh', '-c', 'serve'], Entrypoint: ['/bin/bash', '-c', 'exec /run'] });
    expect(emptyConfig().Entrypoint).toBeNull();
  });

  it('gives ARGs to a shell-form RUN as exports, never to its environment; ENV wins over ARG', () => {
    const s = stage();
    apply(s, 'ARG TOKEN="it\'s"\nARG PATH=/nope');
    const run = (text: string) => parseDockerfile(`FROM scratch\n${text}`, { allowedBaseImages: [] }).instructions[1] as DockerfileInstruction & { kind: 'RUN' };
    expect(runArgv(s, run('RUN echo $TOKEN'))).toEqual(['/bin/sh', '-c', `export TOKEN='it'\\''s'\necho $TOKEN`]);
    expect(runArgv(s, run('RUN ["/bin/echo", "$TOKEN"]'))).toEqual(['/bin/echo', '$TOKEN']);
    expect(s.config.Env).toEqual(['PATH=/usr/bin']);
  });
});
