// Two replicas publishing from one git repository into one database and one shared version store (real git over
// file://, a real SQLite file, real directories): a version one replica self-tested and published is served by the
// other without being tested again, whether the other fetches the same commit or cannot fetch at all; two that fetch
// a new commit at once test it once (a named lease per version); an exercise one replica found gone from its
// repository is withdrawn by the other. The self-test itself is counted here, not run:
// exercise-git.test.ts runs the real one on the engine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { GitSource, parseGitSource } from '../../server/src/exercises/git-source.js';
import { ExercisePublisher } from '../../server/src/exercises/publish.js';
import { ExerciseVersionStore } from '../../server/src/exercises/versions.js';
import { openDatabase } from '../../server/src/store/db.js';
import { ExerciseSourcesRepo } from '../../server/src/store/exercise-sources-repo.js';
import { LeasesRepo } from '../../server/src/store/leases-repo.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { repoRoot } from '../../server/src/paths.js';

const ID = 'graded-demo';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describe('exercises from git with two replicas on one database and one version store', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-publish-replicas-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const bare = path.join(tmp, 'exercises.git');
  const hidden = path.join(tmp, 'exercises.git.away');
  const work = path.join(tmp, 'work');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Team', '-c', 'user.email=team@example.test', ...args], { cwd: work, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['clone', '-q', bare, work]);
  fs.cpSync(path.join(repoRoot(), 'test/fixtures/unit-exercises', ID), path.join(work, 'exercises', ID), { recursive: true });
  const push = (message: string) => {
    git('add', '-A');
    git('commit', '-q', '-m', message);
    git('push', '-q', 'origin', 'main');
  };
  push('first');

  const sql = sqliteSql(openDatabase(path.join(tmp, 'db')));
  afterAll(() => sql.close());
  const repo = new ExerciseSourcesRepo(sql);
  const leases = new LeasesRepo(sql);
  const versions = new ExerciseVersionStore(path.join(tmp, 'exercise-versions'));
  const emptyLocal = path.join(tmp, 'local');
  fs.mkdirSync(emptyLocal);
  const tested: string[] = [];

  const replica = (name: string) => {
    const catalog = ExerciseCatalog.load(emptyLocal, { imageExists: () => true, versions });
    const publisher = new ExercisePublisher({
      sources: [new GitSource(parseGitSource(`file://${bare}`), path.join(tmp, name, 'git'), { timeoutMs: 30_000, maxBytes: 50 * 1024 * 1024 })],
      catalog,
      versions,
      repo,
      localDir: emptyLocal,
      localIds: new Set(),
      imageExists: () => true,
      selfTest: async (exercise) => {
        tested.push(`${name}:${exercise.version.slice(0, 12)}`);
        // Long enough for the other replica to reach the same version meanwhile.
        await new Promise((r) => setTimeout(r, 300));
        return { ok: true, problems: [] };
      },
      intervalMs: 0,
      log: silent,
      claim: (key, ms) => leases.acquire(key, name, Date.now(), Date.now() + ms),
    });
    return { catalog, publisher };
  };
  const a = replica('a');
  const b = replica('b');

  it('serves what the other replica published, without testing it again', async () => {
    await a.publisher.sync();
    const v1 = a.catalog.get(ID)!.version;
    expect(tested).toEqual([`a:${v1.slice(0, 12)}`]);
    // B fetches the same commit: the version is in the database and the shared store.
    await b.publisher.sync();
    expect(b.catalog.get(ID)?.version).toBe(v1);
    expect(tested).toHaveLength(1);
  });

  it('serves a newer version the other replica published even while its own fetch fails', async () => {
    fs.appendFileSync(path.join(work, 'exercises', ID, 'README.md'), '\nA clearer sentence.\n');
    push('second');
    await a.publisher.sync();
    const v2 = a.catalog.get(ID)!.version;
    expect(tested).toHaveLength(2);
    fs.renameSync(bare, hidden);
    try {
      await b.publisher.sync();
      expect(b.publisher.sourceStates()[0]!.error).not.toBeNull();
      expect(b.catalog.get(ID)?.version).toBe(v2);
    } finally {
      fs.renameSync(hidden, bare);
    }
    expect(tested).toHaveLength(2);
  });

  it('tests a new version once when both replicas fetch it in the same round, and both serve it', async () => {
    fs.appendFileSync(path.join(work, 'exercises', ID, 'README.md'), '\nAnother sentence.\n');
    push('third');
    const before = tested.length;
    await Promise.all([a.publisher.sync(), b.publisher.sync()]);
    expect(tested).toHaveLength(before + 1);
    // The one that left it to the other serves it at its next round.
    await Promise.all([a.publisher.sync(), b.publisher.sync()]);
    expect(tested).toHaveLength(before + 1);
    expect(b.catalog.get(ID)?.version).toBe(a.catalog.get(ID)?.version);
    expect(a.catalog.get(ID)!.version.startsWith(tested.at(-1)!.split(':')[1]!)).toBe(true);
  });

  it('withdraws an exercise the other replica found gone from the repository', async () => {
    fs.rmSync(path.join(work, 'exercises', ID), { recursive: true });
    push('gone');
    await a.publisher.sync();
    expect(a.catalog.get(ID)).toBeUndefined();
    fs.renameSync(bare, hidden);
    try {
      await b.publisher.sync();
      expect(b.catalog.get(ID)).toBeUndefined();
    } finally {
      fs.renameSync(hidden, bare);
    }
  });
});
