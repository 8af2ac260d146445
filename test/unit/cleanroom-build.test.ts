// Build jobs without the engine: exercise.yaml's `build:` validated with errors naming the field, and the image
// export read into build.json's layers (the step that made each, whiteouts, bounded file lists and contents).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { formatProblem, loadExercise } from '../../server/src/exercises/catalog.js';
import { evidencePaths } from '../../server/src/exercises/exercise-spec.js';
import { buildChain, globToRegExp, MAX_INSPECT_FILE_BYTES, MAX_INSPECT_FILES, MAX_LAYER_FILES, readImageExport } from '../../server/src/grading/cleanroom-layers.js';
import { parseDockerfile } from '../../server/src/grading/dockerfile.js';
import { packFiles } from '../../server/src/local-tar.js';
import { tempDataDir } from '../helpers/server.js';

const dirs: string[] = [];
const head = `id: demo
title: Demo
summary: A demo exercise for the tests.
difficulty: easy
timeLimitMinutes: 10
image: base
checks:
  - { id: one, title: The one check, points: 1 }
`;

function load(cleanroom: string, images = ['base', 'ci']) {
  const root = tempDataDir();
  dirs.push(root);
  const dir = path.join(root, 'demo');
  fs.mkdirSync(path.join(dir, 'checks'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'solution'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'exercise.yaml'), `${head}cleanroom:\n${cleanroom}`);
  fs.writeFileSync(path.join(dir, 'README.md'), '# Demo\n');
  fs.writeFileSync(path.join(dir, 'checks/one'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'solution/apply'), '#!/bin/sh\n', { mode: 0o755 });
  const r = loadExercise(dir, { imageExists: (i) => images.includes(i) });
  return 'problems' in r ? { problems: r.problems.map(formatProblem) } : { exercise: r.exercise };
}

describe('exercise.yaml build jobs', () => {
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('loads a build job with its defaults; its context is evidence', () => {
    const r = load('  - id: image\n    build: { context: /root/work/app, from: [base, ci] }\n');
    if (!('exercise' in r) || !r.exercise) throw new Error(JSON.stringify(r));
    const job = r.exercise.cleanroom[0]!;
    expect(job.build).toEqual({ context: '/root/work/app', dockerfile: 'Dockerfile', from: ['base', 'ci'], inspect: [] });
    expect(job).toMatchObject({ copy: '/root/work/app', image: 'base', run: '', timeoutSeconds: 300, bring: [], gitHead: false });
    expect(evidencePaths({ collect: ['/etc/app'], cleanroom: r.exercise.cleanroom })).toEqual(['/etc/app', '/root/work/app']);
  });

  it('names the field of every problem of a build job', () => {
    const problems = (yaml: string) => ('problems' in load(yaml) ? load(yaml).problems! : []);
    expect(problems('  - id: image\n    build: { context: /root/work, from: [nope] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.from\.0: names no sandbox image \(sandboxes\/nope\/Dockerfile\)/),
    );
    expect(problems('  - id: image\n    build: { context: /root/../etc, from: [base] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.context: must be a plain absolute path, without \. or \.\. \(\/root\/\.\.\/etc\)/),
    );
    expect(problems('  - id: image\n    build: { context: root/work, from: [base] }\n')).toContainEqual(expect.stringMatching(/cleanroom\.0\.build\.context: must match pattern/));
    expect(problems('  - id: image\n    build: { context: /w, dockerfile: ../Dockerfile, from: [base] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.dockerfile: must match pattern/),
    );
    expect(problems('  - id: image\n    build: { context: /w, dockerfile: a/../../D, from: [base] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.dockerfile: must match pattern/),
    );
    expect(problems('  - id: image\n    build: { context: /w, from: [] }\n')).toContainEqual(expect.stringMatching(/cleanroom\.0\.build\.from: must NOT have fewer than 1 items/));
    expect(problems('  - id: image\n    build: { context: /w, from: [base], inspect: [relative/*] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.inspect\.0: must match pattern/),
    );
    expect(problems('  - id: image\n    build: { context: /w, from: [base], inspect: [/a/../b] }\n')).toContainEqual(
      expect.stringMatching(/cleanroom\.0\.build\.inspect\.0: must be a plain absolute glob/),
    );
    expect(problems('  - id: image\n    image: base\n    copy: /w\n    build: { context: /w, from: [base] }\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/cleanroom\.0\.image: is not used by a build job/), expect.stringMatching(/cleanroom\.0\.copy: is not used by a build job/)]),
    );
    expect(problems('  - id: image\n    build: { context: /w, from: [base], colour: red }\n')).toContainEqual(expect.stringMatching(/cleanroom\.0\.build\.colour: is not a known field/));
    // A job without build still needs its image, copy and run.
    expect(problems('  - id: plain\n    image: base\n    run: "true"\n')).toContainEqual(expect.stringMatching(/copy: is required/));
  });
});

describe('reading a built image', () => {
  it('matches globs: * within a name, ** across directories, ? one character', () => {
    const g = globToRegExp('/app/**');
    expect(['/app/a', '/app/x/y.txt'].every((p) => g.test(p))).toBe(true);
    expect(g.test('/apple')).toBe(false);
    expect(globToRegExp('/**/*.pem').test('/etc/ssl/key.pem')).toBe(true);
    expect(globToRegExp('/**/*.pem').test('/key.pem')).toBe(true);
    expect(globToRegExp('/etc/*.conf').test('/etc/a/b.conf')).toBe(false);
    expect(globToRegExp('/tmp/s?.env').test('/tmp/s1.env')).toBe(true);
    expect(globToRegExp('/a.b').test('/axb')).toBe(false);
  });

  it('names the steps of the last stage and of the stages it starts from', () => {
    const { instructions } = parseDockerfile(
      ['FROM base:latest AS build', 'RUN make', 'COPY . /src', 'USER x', 'FROM build', 'COPY a /a', 'FROM scratch', 'ENV A=1'].join('\n'),
      { allowedBaseImages: ['base:latest'] },
    );
    expect(buildChain(instructions.slice(0, 6))).toEqual({
      base: 'FROM base:latest AS build',
      entries: [
        { instruction: 'RUN make', line: 2 },
        { instruction: 'COPY . /src', line: 3 },
        { instruction: '(image configuration)', line: null },
        { instruction: 'COPY a /a', line: 6 },
        { instruction: '(image configuration)', line: null },
      ],
    });
    expect(buildChain(instructions)).toEqual({ base: null, entries: [{ instruction: 'FROM scratch', line: 7 }, { instruction: '(image configuration)', line: null }] });
  });

  it('lists each layer with its step, whiteouts and inspected contents, within the caps', async () => {
    const layer = async (files: { name: string; content: string | Buffer }[]) => Buffer.concat(await Readable.from(packFiles(files)).toArray());
    const { instructions } = parseDockerfile('FROM base:latest\nCOPY secret.env /tmp/secret.env\nRUN rm /tmp/secret.env\nUSER app\n', { allowedBaseImages: ['base:latest'] });
    const config = {
      config: { User: 'app', Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: [], ExposedPorts: { '80/tcp': {} }, Healthcheck: { Test: ['CMD', 'true'], Retries: 2 }, Labels: { team: 'x', 'opslab.build': 'b' } },
      history: [{ created_by: 'base' }, { created_by: 'base meta', empty_layer: true }, { created_by: 'copy' }, { created_by: 'rm' }, { created_by: 'seal', empty_layer: true }],
    };
    const big = Buffer.alloc(MAX_INSPECT_FILE_BYTES + 10, 'x');
    const exported = packFiles([
      { name: 'aaa/layer.tar', content: await layer([{ name: 'etc/base.pem', content: 'base' }]) },
      { name: 'bbb/layer.tar', content: await layer([{ name: 'tmp/secret.env', content: 'KEY=1\n' }, { name: 'tmp/big.env', content: big }]) },
      { name: 'ccc/layer.tar', content: await layer([{ name: 'tmp/.wh.secret.env', content: '' }]) },
      { name: `${'c'.repeat(64)}.json`, content: JSON.stringify(config) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${'c'.repeat(64)}.json`, Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]) },
    ]);
    const r = await readImageExport(exported, instructions, ['/tmp/*.env', '/**/*.pem']);
    expect(r.image).toEqual({
      user: 'app',
      workdir: '',
      env: ['PATH=/bin'],
      cmd: ['sh'],
      entrypoint: null,
      exposedPorts: ['80/tcp'],
      healthcheck: { test: ['CMD', 'true'], retries: 2 },
      labels: { team: 'x' },
      sizeBytes: 4 + 6 + big.length,
    });
    expect(r.layers.map((l) => [l.instruction, l.line, l.base])).toEqual([
      ['FROM base:latest', null, true],
      ['COPY secret.env /tmp/secret.env', 2, false],
      ['RUN rm /tmp/secret.env', 3, false],
    ]);
    // The base image's files are neither listed nor inspected.
    expect(r.layers[0]!.files).toEqual([]);
    expect(r.layers[1]!.files).toEqual([
      { path: '/tmp', size: 0, type: 'directory', whiteout: false },
      { path: '/tmp/secret.env', size: 6, type: 'file', whiteout: false, extracted: true },
      { path: '/tmp/big.env', size: big.length, type: 'file', whiteout: false, extracted: 'partial' },
    ]);
    expect(r.layers[2]!.files).toContainEqual({ path: '/tmp/secret.env', size: 0, type: 'deleted', whiteout: true });
    expect(r.inspected.map((f) => [f.layer, f.path, f.content.length])).toEqual([
      [1, '/tmp/secret.env', 6],
      [1, '/tmp/big.env', MAX_INSPECT_FILE_BYTES],
    ]);
    expect(r.inspectTruncated).toBe(true);
  });

  it('gives back what a base image\'s layer took of the caps', async () => {
    const { instructions } = parseDockerfile('FROM base:latest\nCOPY a.pem /a.pem\n', { allowedBaseImages: ['base:latest'] });
    const baseLayer = Buffer.concat(await Readable.from(packFiles(Array.from({ length: MAX_INSPECT_FILES + 1 }, (_, i) => ({ name: `etc/${i}.pem`, content: 'x' })))).toArray());
    const ownLayer = Buffer.concat(await Readable.from(packFiles([{ name: 'a.pem', content: 'mine' }])).toArray());
    const config = { config: {}, history: [{ created_by: 'base' }, { created_by: 'copy' }, { created_by: 'seal', empty_layer: true }] };
    const exported = () =>
      packFiles([
        { name: 'aaa/layer.tar', content: baseLayer },
        { name: 'bbb/layer.tar', content: ownLayer },
        { name: `${'c'.repeat(64)}.json`, content: JSON.stringify(config) },
        { name: 'manifest.json', content: JSON.stringify([{ Config: `${'c'.repeat(64)}.json`, Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }]) },
      ]);
    // Not known as the base's: its files use up the caps, and the Dockerfile's own file is missing.
    const unknown = await readImageExport(exported(), instructions, ['/**']);
    expect(unknown.inspected).toEqual([]);
    expect(unknown.inspectTruncated).toBe(true);
    const digest = `sha256:${createHash('sha256').update(baseLayer).digest('hex')}`;
    const known = await readImageExport(exported(), instructions, ['/**'], new Set([digest]));
    expect(known.inspected.map((f) => [f.layer, f.path, f.content.toString()])).toEqual([[1, '/a.pem', 'mine']]);
    expect(known.inspectTruncated).toBe(false);
  });

  it('reads an empty layer (a tar of zeros) as a layer without files', async () => {
    const { instructions } = parseDockerfile('FROM scratch\nENV A=1\n', { allowedBaseImages: [] });
    const config = { config: { Env: ['A=1'] }, history: [{ created_by: 'import' }, { created_by: 'seal', empty_layer: true }] };
    const r = await readImageExport(
      packFiles([
        { name: 'aaa/layer.tar', content: Buffer.alloc(1024) },
        { name: `${'d'.repeat(64)}.json`, content: JSON.stringify(config) },
        { name: 'manifest.json', content: JSON.stringify([{ Config: `${'d'.repeat(64)}.json`, Layers: ['aaa/layer.tar'] }]) },
      ]),
      instructions,
      ['/**'],
    );
    expect(r.layers).toEqual([{ instruction: 'FROM scratch', line: 1, base: false, sizeBytes: 0, files: [], truncated: false }]);
    expect(r.image.env).toEqual(['A=1']);
  });

  it('lists at most MAX_LAYER_FILES files of a layer and says it stopped', async () => {
    const { instructions } = parseDockerfile('FROM scratch\nCOPY . /\n', { allowedBaseImages: [] });
    const layerTar = Buffer.concat(await Readable.from(packFiles(Array.from({ length: MAX_LAYER_FILES + 5 }, (_, i) => ({ name: `f${i}`, content: '' })))).toArray());
    const config = { config: {}, history: [{ created_by: 'copy' }, { created_by: 'seal', empty_layer: true }] };
    const r = await readImageExport(
      packFiles([
        { name: 'aaa/layer.tar', content: layerTar },
        { name: `${'e'.repeat(64)}.json`, content: JSON.stringify(config) },
        { name: 'manifest.json', content: JSON.stringify([{ Config: `${'e'.repeat(64)}.json`, Layers: ['aaa/layer.tar'] }]) },
      ]),
      instructions,
      [],
    );
    expect(r.layers[0]).toMatchObject({ instruction: 'COPY . /', line: 2, truncated: true });
    expect(r.layers[0]!.files.length).toBe(MAX_LAYER_FILES);
  });

  it('says so when the export is not an image', async () => {
    await expect(readImageExport(packFiles([{ name: 'x', content: 'y' }]), [], [])).rejects.toThrow(/lacks manifest\.json/);
  });
});
