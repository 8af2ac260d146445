// The exercise version store on a real file system: what a version covers, content addressing, atomic writes, and
// the catalog serving current and stored versions from their copies.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { ExerciseChangedError, exerciseVersion, ExerciseVersionStore } from '../../server/src/exercises/versions.js';
import { pruneExerciseVersions } from '../../server/src/attempts/purge.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { openDatabase } from '../../server/src/store/db.js';
import { InvitesRepo } from '../../server/src/store/invites-repo.js';
import { tempDataDir } from '../helpers/server.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';

const dirs: string[] = [];
const temp = () => {
  const d = tempDataDir();
  dirs.push(d);
  return d;
};

const YAML = `id: demo-pin
title: Demo pin
summary: An exercise for the version store tests.
difficulty: easy
timeLimitMinutes: 10
image: base
checks:
  - { id: one, title: The one check, points: 1 }
`;

/** An exercise directory with a file in each part that decides what a candidate gets or how they are graded. */
function writeExercise(root: string, id = 'demo-pin'): string {
  const dir = path.join(root, id);
  const files: Record<string, [string, number]> = {
    'exercise.yaml': [YAML.replace('demo-pin', id), 0o644],
    'README.md': ['# Demo\nDo the thing.\n', 0o644],
    'workspace/app.conf': ['mode = debug\n', 0o644],
    'workspace/.hidden-rc': ['set -o vi\n', 0o644],
    setup: ['#!/bin/sh\necho set up\n', 0o755],
    'files/seed.txt': ['seed\n', 0o644],
    'checks/one': ['#!/bin/sh\nexit 0\n', 0o755],
    'hidden/expected.txt': ['42\n', 0o644],
    'solution/apply': ['#!/bin/sh\n', 0o755],
  };
  for (const [name, [content, mode]] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content, { mode });
  }
  return dir;
}

describe('exercise versions', () => {
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('is the same for the same content wherever it lies, and changes with a change anywhere', () => {
    const dir = writeExercise(temp());
    const version = exerciseVersion(dir);
    expect(version).toMatch(/^[0-9a-f]{64}$/);
    expect(exerciseVersion(writeExercise(temp()))).toBe(version);
    const copy = path.join(temp(), 'elsewhere');
    fs.cpSync(dir, copy, { recursive: true });
    expect(exerciseVersion(copy)).toBe(version);

    const changes: [string, (d: string) => void][] = [
      ['the instructions', (d) => fs.appendFileSync(path.join(d, 'README.md'), 'typo fixed\n')],
      ['a workspace file', (d) => fs.writeFileSync(path.join(d, 'workspace/app.conf'), 'mode = Debug\n')],
      ['a hidden workspace file', (d) => fs.writeFileSync(path.join(d, 'workspace/.hidden-rc'), 'set -o emacs\n')],
      ['a new empty workspace directory', (d) => fs.mkdirSync(path.join(d, 'workspace/logs'))],
      ['setup', (d) => fs.appendFileSync(path.join(d, 'setup'), 'echo more\n')],
      ['a file setup reads', (d) => fs.writeFileSync(path.join(d, 'files/seed.txt'), 'seed2\n')],
      ['a check', (d) => fs.writeFileSync(path.join(d, 'checks/one'), '#!/bin/sh\nexit 1\n')],
      ['hidden/', (d) => fs.writeFileSync(path.join(d, 'hidden/expected.txt'), '43\n')],
      ['exercise.yaml', (d) => fs.appendFileSync(path.join(d, 'exercise.yaml'), 'hints: [Look closer.]\n')],
      ['the reference answer', (d) => fs.appendFileSync(path.join(d, 'solution/apply'), 'true\n')],
      ['an execute bit', (d) => fs.chmodSync(path.join(d, 'files/seed.txt'), 0o755)],
      ['a rename', (d) => fs.renameSync(path.join(d, 'files/seed.txt'), path.join(d, 'files/seed2.txt'))],
      ['a new symlink', (d) => fs.symlinkSync('seed.txt', path.join(d, 'files/link'))],
    ];
    const seen = new Set([version]);
    for (const [what, change] of changes) {
      const d = writeExercise(temp());
      change(d);
      const changed = exerciseVersion(d);
      expect(changed, what).not.toBe(version);
      expect(seen.has(changed), what).toBe(false);
      seen.add(changed);
    }
    // A symlink's target counts, not what it points at.
    const a = writeExercise(temp());
    fs.symlinkSync('seed.txt', path.join(a, 'files/link'));
    const b = writeExercise(temp());
    fs.symlinkSync('other.txt', path.join(b, 'files/link'));
    expect(exerciseVersion(a)).not.toBe(exerciseVersion(b));
  });

  it('stores a version once, atomically, under its content address; the same content again writes nothing', () => {
    const store = new ExerciseVersionStore(path.join(temp(), 'exercise-versions'));
    const source = writeExercise(temp());
    const version = exerciseVersion(source);
    const first = store.publish('demo-pin', source, version);
    expect(first).toEqual({ version, dir: path.join(store.root, 'demo-pin', version), written: true });
    expect(exerciseVersion(first.dir)).toBe(version);
    expect(fs.statSync(path.join(first.dir, 'setup')).mode & 0o111).not.toBe(0);
    const inode = fs.statSync(path.join(first.dir, 'README.md')).ino;

    // The same content from another directory, with or without the expected version: found, not written again.
    const twin = writeExercise(temp());
    expect(store.publish('demo-pin', twin, version)).toMatchObject({ version, written: false });
    expect(store.publish('demo-pin', twin)).toMatchObject({ version, written: false });
    expect(fs.statSync(path.join(first.dir, 'README.md')).ino).toBe(inode);
    expect(store.list()).toEqual([{ id: 'demo-pin', version }]);
    expect(fs.readdirSync(path.join(store.root, 'demo-pin'))).toEqual([version]);

    // A change makes a second version beside the first, which stays as it was.
    fs.writeFileSync(path.join(source, 'checks/one'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const second = store.publish('demo-pin', source);
    expect(second.written).toBe(true);
    expect(second.version).not.toBe(version);
    expect(fs.readFileSync(path.join(first.dir, 'checks/one'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(store.list().map((v) => v.version).sort()).toEqual([version, second.version].sort());
  });

  it('leaves nothing half written: a copy that fails or does not match its version is dropped', () => {
    const store = new ExerciseVersionStore(path.join(temp(), 'exercise-versions'));
    const source = writeExercise(temp());
    const version = exerciseVersion(source);
    // Changed between hashing and copying: the copy's version is not the one expected.
    fs.appendFileSync(path.join(source, 'README.md'), 'edited meanwhile\n');
    expect(() => store.publish('demo-pin', source, version)).toThrow(ExerciseChangedError);
    // A copy that fails half-way (a FIFO cannot be copied).
    execFileSync('mkfifo', [path.join(source, 'files', 'pipe')]);
    expect(() => store.publish('demo-pin', source)).toThrow(/FIFO/);
    expect(store.list()).toEqual([]);
    expect(fs.readdirSync(path.join(store.root, 'demo-pin'))).toEqual([]);

    // What a killed process leaves (a temporary directory) is no version, and a sweep removes it once it is old
    // (a young one may be another process's publish in progress).
    const left = path.join(store.root, 'demo-pin', '.tmp-123-abc');
    const young = path.join(store.root, 'demo-pin', '.tmp-456-def');
    fs.mkdirSync(path.join(left, 'checks'), { recursive: true });
    fs.mkdirSync(young);
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(left, twoHoursAgo, twoHoursAgo);
    expect(store.list()).toEqual([]);
    store.sweep();
    expect(fs.readdirSync(path.join(store.root, 'demo-pin'))).toEqual(['.tmp-456-def']);
  });

  it('refuses ids and versions that could leave the store', () => {
    const store = new ExerciseVersionStore(path.join(temp(), 'exercise-versions'));
    expect(() => store.dir('../etc', 'a'.repeat(64))).toThrow(/not an exercise id/);
    expect(() => store.dir('demo-pin', '../../x')).toThrow(/not an exercise version/);
    expect(() => store.dir('demo-pin', 'abc123def456')).toThrow(/not an exercise version/);
    expect(store.has('demo-pin', '..')).toBe(false);
    expect(() => store.publish('..', writeExercise(temp()))).toThrow(/not an exercise id/);
  });

  it('serves the catalog from stored copies and loads any stored version by (id, version)', () => {
    const exercises = temp();
    const source = writeExercise(exercises);
    const store = new ExerciseVersionStore(path.join(temp(), 'exercise-versions'));
    const first = ExerciseCatalog.load(exercises, { versions: store });
    expect(first.problems).toEqual([]);
    const v1 = first.get('demo-pin')!;
    expect(v1.dir).toBe(store.dir('demo-pin', v1.version));
    expect(first.at('demo-pin', v1.version)).toBe(v1);

    // An edit of the exercise directory changes nothing for the catalog already loaded: it serves its copy.
    fs.writeFileSync(path.join(source, 'README.md'), '# Demo\nDo the other thing.\n');
    fs.writeFileSync(path.join(source, 'workspace/app.conf'), 'mode = verbose\n');
    expect(fs.readFileSync(path.join(v1.dir, 'workspace/app.conf'), 'utf8')).toBe('mode = debug\n');

    // Loaded again (a restart): the new version is current, the old one still loads from its copy.
    const second = ExerciseCatalog.load(exercises, { versions: store });
    const v2 = second.get('demo-pin')!;
    expect(v2.version).not.toBe(v1.version);
    expect(v2.instructions).toContain('the other thing');
    const old = second.at('demo-pin', v1.version)!;
    expect(old.instructions).toContain('Do the thing.');
    expect(fs.readFileSync(path.join(old.dir, 'workspace/app.conf'), 'utf8')).toBe('mode = debug\n');
    expect(second.forAttempt({ exerciseId: 'demo-pin', exerciseVersion: v1.version })).toBe(old);
    expect(second.forAttempt({ exerciseId: 'demo-pin', exerciseVersion: null })).toBe(v2);

    // Removed from the exercises directory: no longer offered, its stored versions still load.
    fs.rmSync(source, { recursive: true });
    const third = ExerciseCatalog.load(exercises, { versions: store });
    expect(third.get('demo-pin')).toBeUndefined();
    expect(third.at('demo-pin', v1.version)?.instructions).toContain('Do the thing.');
    expect(third.at('demo-pin', v2.version)?.instructions).toContain('the other thing');

    // A copy that no longer matches its version (tampered with) or is gone is no version at all.
    fs.appendFileSync(path.join(store.dir('demo-pin', v2.version), 'checks/one'), 'exit 0\n');
    expect(ExerciseCatalog.load(exercises, { versions: store }).at('demo-pin', v2.version)).toBeUndefined();
    fs.rmSync(store.dir('demo-pin', v1.version), { recursive: true });
    expect(ExerciseCatalog.load(exercises, { versions: store }).at('demo-pin', v1.version)).toBeUndefined();
    expect(third.at('demo-pin', 'f'.repeat(64))).toBeUndefined();
  });

  it('retention removes the stored versions that are not current and that no invite or attempt names', async () => {
    const exercises = temp();
    const source = writeExercise(exercises);
    const store = new ExerciseVersionStore(path.join(temp(), 'exercise-versions'));
    const db = openDatabase(temp());
    const attempts = new AttemptsRepo(sqliteSql(db));
    const invites = new InvitesRepo(sqliteSql(db));
    db.prepare(`INSERT INTO users (id, email, name, role, created_at) VALUES ('u_1', 'a@example.test', 'A', 'admin', 0)`).run();
    // Four versions, one edit after another: the first pinned by an invite, the second by an attempt, the third by
    // nothing, the fourth current.
    const versions: string[] = [];
    for (let i = 0; i < 4; i++) {
      fs.writeFileSync(path.join(source, 'README.md'), `# Demo\nEdition ${i}.\n`);
      versions.push(ExerciseCatalog.load(exercises, { versions: store }).get('demo-pin')!.version);
    }
    const catalog = ExerciseCatalog.load(exercises, { versions: store });
    expect(catalog.get('demo-pin')!.version).toBe(versions[3]);
    await invites.insert({
      id: 'i_1', tokenHash: 'h1', exerciseId: 'demo-pin', candidateName: 'C', candidateEmail: 'c@example.test', timeLimitSeconds: 60,
      showFeedback: true, note: null, createdBy: 'u_1', createdAt: 0, expiresAt: 1, revokedAt: null, attemptId: null, claimedAt: null,
      exerciseVersion: versions[0],
    });
    await attempts.insert({
      id: 'a_1', exerciseId: 'demo-pin', state: 'archived', tokenHash: 'h2', timeLimitSeconds: 60, createdAt: 0, startedAt: 0, deadline: 60,
      endedAt: 1, endReason: 'submitted', sandboxId: null, sandboxStatus: 'removed', recordingPath: null, failure: null, seed: null,
      params: {}, hintsRevealed: 0, mode: 'practice', inviteId: null, feedback: true, ownerHash: null, exerciseVersion: versions[1],
    });
    expect(store.list()).toHaveLength(4);

    expect(await pruneExerciseVersions({ catalog, repo: attempts })).toEqual([{ id: 'demo-pin', version: versions[2] }]);
    expect(store.list().map((v) => v.version).sort()).toEqual([versions[0], versions[1], versions[3]].sort());
    expect(catalog.at('demo-pin', versions[0]!)?.instructions).toContain('Edition 0.');

    // The attempt is purged: its version goes at the next pass; the invite's and the current one stay.
    await attempts.delete('a_1');
    expect(await pruneExerciseVersions({ catalog, repo: attempts })).toEqual([{ id: 'demo-pin', version: versions[1] }]);
    expect(await pruneExerciseVersions({ catalog, repo: attempts })).toEqual([]);
    expect(store.list().map((v) => v.version).sort()).toEqual([versions[0], versions[3]].sort());
    db.close();
  });
});
