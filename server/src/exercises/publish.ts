// Publishing exercises from git repositories: every exercise of a new commit is validated (the catalog's rules) and
// self-tested on the real engine (grading/self-test.ts, as `npm run exercise -- test`) before it becomes the current
// version. One that fails is not published: its previous version stays live and the failure (commit, exercise, what
// failed) is kept for staff. Invites pin their version (versions.ts), so publishing never changes a pinned invite.
// One exercise is self-tested at a time, in the background.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../sandbox/notices.js';
import type { ExerciseSourcesRepo, PublishFailure, Publication } from '../store/exercise-sources-repo.js';
import { formatProblem, loadExercise, type Exercise, type ExerciseCatalog } from './catalog.js';
import type { GitSource } from './git-source.js';
import { exerciseVersion, type ExerciseVersionStore } from './versions.js';

/** What the self-test found: ok, or the problems (state, seed, check, expected and got). */
export type SelfTestFn = (exercise: Exercise, signal: AbortSignal) => Promise<{ ok: boolean; problems: string[] }>;

export interface PublisherDeps {
  sources: GitSource[];
  catalog: ExerciseCatalog;
  versions: ExerciseVersionStore;
  repo: ExerciseSourcesRepo;
  /** The local exercises folder (OPSLAB_EXERCISES_DIR): an id it holds is refused from a repository. */
  localDir: string;
  localIds: ReadonlySet<string>;
  imageExists: (image: string) => boolean;
  selfTest: SelfTestFn;
  /** Between two rounds of fetches; 0: only at start. */
  intervalMs: number;
  log: Logger;
  /** Whether the engine answers: while it does not, self-tests wait for a later round (nothing is marked failed). */
  engineUp?: () => Promise<boolean>;
  /** Removes what self-tests of a server that stopped mid-test left behind (run once, before the first fetch). */
  sweep?: () => Promise<void>;
  /**
   * Takes a named lease for `ms` (replicas on one database): true when this server may self-test the version the key
   * names, false while another replica does. Without it, every version found is tested here.
   */
  claim?: (key: string, ms: number) => Promise<boolean>;
}

/** How long a replica's claim on testing a version holds: past it (the replica died mid-test) another tests it. */
const TEST_CLAIM_MS = 60 * 60_000;

/** A repository as staff see it: its last fetch. */
export interface SourceState {
  source: string;
  /** The commit last fetched (null: never fetched yet). */
  commit: string | null;
  fetchedAt: number | null;
  /** Why the last fetch failed (the remote down, an unknown ref...); the published versions stay live meanwhile. */
  error: string | null;
  /** The exercise being self-tested now. */
  testing: string | null;
}

export type ExerciseOrigin =
  | { kind: 'local'; location: string }
  | { kind: 'git'; location: string; commit: string; publishedAt: number };

export class ExercisePublisher {
  private readonly states = new Map<GitSource, SourceState>();
  private readonly processed = new Map<GitSource, string>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;

  constructor(private readonly deps: PublisherDeps) {
    for (const s of deps.sources) this.states.set(s, { source: s.label, commit: null, fetchedAt: null, error: null, testing: null });
  }

  /**
   * Serves again what was published before a restart, from the version store (before any fetch: the remote may be
   * down). A publication from a repository no longer configured, or whose id the local folder now holds, is not.
   */
  async restore(): Promise<void> {
    await this.serve({ restoring: true });
  }

  /**
   * Serves the versions the database says are published (by this server or by another replica of the same database,
   * whose version store is shared), and withdraws what a repository dropped. At a restart (`restoring`) every one, and
   * what cannot be served is logged; in each round only what changed (what another replica published meanwhile).
   */
  private async serve(opts: { restoring: boolean }): Promise<void> {
    const { catalog, log, localIds, localDir } = this.deps;
    const labels = new Set(this.deps.sources.map((s) => s.label));
    const publications = (await this.deps.repo.publications()).filter((p) => labels.has(p.source));
    for (const p of publications) {
      if (localIds.has(p.exerciseId)) {
        if (opts.restoring) log.error({ exercise: p.exerciseId }, `exercise ${p.exerciseId} is in both ${localDir} and ${p.source}: the repository's is not served`);
        continue;
      }
      if (catalog.get(p.exerciseId)?.version === p.version) continue;
      const exercise = catalog.at(p.exerciseId, p.version);
      if (exercise) {
        catalog.setCurrent(exercise);
        if (!opts.restoring) log.info({ exercise: p.exerciseId, version: p.version }, `serving ${p.exerciseId} ${p.version.slice(0, 12)}, published by another replica`);
      } else if (opts.restoring) {
        log.error({ exercise: p.exerciseId }, `the published version ${p.version.slice(0, 12)} of ${p.exerciseId} is not in the version store`);
      }
    }
    if (opts.restoring) return;
    // Dropped from its repository by another replica: no longer offered here either.
    const published = new Set(publications.map((p) => p.exerciseId));
    for (const e of catalog.list()) {
      if (!localIds.has(e.id) && !published.has(e.id)) {
        catalog.withdraw(e.id);
        log.info({ exercise: e.id }, `${e.id} is no longer offered: another replica found it gone from its repository`);
      }
    }
  }

  /** Fetches now, then every intervalMs. */
  start(): void {
    const sweep = this.deps.sweep?.().catch((err: Error) => this.deps.log.error({ err: err.message }, 'self-test leftovers not removed'));
    this.round = Promise.resolve(sweep)
      .then(() => this.syncAll())
      .finally(() => (this.round = null));
    if (this.deps.intervalMs > 0) {
      this.timer = setInterval(() => void this.sync(), this.deps.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the timer and the self-test under way (its sandboxes are removed by the self-test). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.round?.catch(() => undefined);
  }

  /** One round over every repository; a round already under way is answered instead of a second. */
  sync(): Promise<void> {
    this.round ??= this.syncAll().finally(() => (this.round = null));
    return this.round;
  }

  sourceStates(): SourceState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  async origin(exerciseId: string): Promise<ExerciseOrigin> {
    const p = (await this.deps.repo.publications()).find((x) => x.exerciseId === exerciseId);
    if (p && !this.deps.localIds.has(exerciseId) && this.deps.sources.some((s) => s.label === p.source)) {
      return { kind: 'git', location: p.source, commit: p.commit, publishedAt: p.publishedAt };
    }
    return { kind: 'local', location: this.deps.localDir };
  }

  /** The latest failure of each exercise that failed since its current version was published (or never was). */
  async failures(): Promise<PublishFailure[]> {
    const published = new Map((await this.deps.repo.publications()).map((p) => [p.exerciseId, p]));
    return (await this.deps.repo.lastFailures()).filter((f) => {
      const p = published.get(f.exerciseId);
      return !p || f.failedAt >= p.publishedAt;
    });
  }

  private async syncAll(): Promise<void> {
    // What other replicas published since the last round is served before anything is fetched or tested.
    await this.serve({ restoring: false }).catch((err: Error) => this.deps.log.error({ err: err.message }, 'published versions not read'));
    // Ids seen this round, in the order of OPSLAB_EXERCISES_GIT: the first repository holding an id has it.
    const claims = new Map<string, string>();
    for (const source of this.deps.sources) {
      if (this.abort.signal.aborted) return;
      const state = this.states.get(source)!;
      let fetched: { commit: string; exercisesDir: string };
      try {
        fetched = await source.fetch(this.abort.signal);
        Object.assign(state, { commit: fetched.commit, fetchedAt: Date.now(), error: null });
      } catch (err) {
        if (this.abort.signal.aborted) return;
        Object.assign(state, { fetchedAt: Date.now(), error: (err as Error).message });
        this.deps.log.error({ source: source.label }, `exercises not fetched: ${(err as Error).message}`);
        // What this repository published stays live, and keeps its ids.
        for (const p of await this.deps.repo.publications()) if (p.source === source.label) claims.set(p.exerciseId, p.source);
        continue;
      }
      // A commit handled in full is not looked at again (its claims stand).
      if (this.processed.get(source) === fetched.commit) {
        for (const p of await this.deps.repo.publications()) if (p.source === source.label) claims.set(p.exerciseId, p.source);
        continue;
      }
      try {
        if (await this.publishCommit(source, fetched, claims)) this.processed.set(source, fetched.commit);
      } catch (err) {
        this.deps.log.error({ source: source.label }, `exercises of ${fetched.commit.slice(0, 12)} not published: ${(err as Error).message}`);
      } finally {
        state.testing = null;
      }
    }
  }

  /** Publishes what passes of one commit; false when something was left for a later round (engine down, stopping). */
  private async publishCommit(source: GitSource, fetched: { commit: string; exercisesDir: string }, claims: Map<string, string>): Promise<boolean> {
    const { commit, exercisesDir } = fetched;
    const dirs = exerciseDirs(exercisesDir);
    const ids = new Set(dirs.map((d) => path.basename(d)));
    // An exercise no longer in the repository is no longer offered (invites that pinned it keep their version).
    for (const p of await this.deps.repo.publications()) {
      if (p.source === source.label && !ids.has(p.exerciseId)) {
        await this.deps.repo.unpublish(p.exerciseId);
        this.deps.catalog.withdraw(p.exerciseId);
        this.deps.log.info({ exercise: p.exerciseId }, `exercise ${p.exerciseId} withdrawn: not in ${source.label} at ${commit.slice(0, 12)}`);
      }
    }
    let complete = true;
    for (const dir of dirs) {
      if (this.abort.signal.aborted) return false;
      const id = path.basename(dir);
      const version = exerciseVersion(dir);
      const fail = async (stage: PublishFailure['stage'], problems: string[]) => {
        await this.deps.repo.recordFailure({ exerciseId: id, version, source: source.label, commit, stage, problems, failedAt: Date.now() });
        this.deps.log.error({ exercise: id, commit }, `exercise ${id} of ${source.label} at ${commit.slice(0, 12)} not published (${stage}): ${problems.join('; ')}`);
      };
      // No silent shadowing: an id in two sources is refused from the later one, naming both.
      const other = this.deps.localIds.has(id) ? this.deps.localDir : (claims.get(id) ?? (await this.publishedElsewhere(id, source.label)));
      if (other && other !== source.label) {
        // Said once per version, not at every fetch.
        if ((await this.deps.repo.failure(id, version))?.stage !== 'conflict') await fail('conflict', [`exercise id "${id}" is in both ${other} and ${source.label}: rename one of them`]);
        continue;
      }
      claims.set(id, source.label);
      const current = (await this.deps.repo.publications()).find((p) => p.exerciseId === id);
      if (current?.version === version) {
        if (this.deps.catalog.get(id)?.version === version) continue;
        // Published by another replica: served from the shared version store, not tested again.
        const stored = this.deps.catalog.at(id, version);
        if (stored) {
          this.deps.catalog.setCurrent(stored);
          continue;
        }
      }
      // A version is tested once: the same content failing again is not run again.
      if (await this.deps.repo.failure(id, version)) continue;
      const loaded = loadExercise(dir, { imageExists: this.deps.imageExists });
      if ('problems' in loaded) {
        await fail('validation', loaded.problems.map((p) => formatProblem(p).replace(`${exercisesDir}/`, '')));
        continue;
      }
      if (this.deps.claim && !(await this.deps.claim(`exercise-test:${id}:${version}`, TEST_CLAIM_MS))) {
        // Another replica tests it: a later round serves what it publishes.
        this.deps.log.info({ exercise: id, version }, `${id} ${version.slice(0, 12)} is being self-tested by another replica`);
        complete = false;
        continue;
      }
      // What is tested is a private copy, checked against the version: exactly the content that is then stored and
      // served (the version store only gets versions that passed, so retention never prunes one under test).
      const candidate = path.join(path.dirname(source.dir), 'candidate', id);
      let exercise: Exercise;
      try {
        fs.rmSync(candidate, { recursive: true, force: true });
        fs.mkdirSync(path.dirname(candidate), { recursive: true });
        fs.cpSync(dir, candidate, { recursive: true, verbatimSymlinks: true });
        if (exerciseVersion(candidate) !== version) throw new Error('the checkout changed while it was being copied');
        const fromCopy = loadExercise(candidate, { imageExists: this.deps.imageExists, id });
        if ('problems' in fromCopy) throw new Error(fromCopy.problems.map(formatProblem).join('; '));
        exercise = fromCopy.exercise;
      } catch (err) {
        await fail('validation', [`cannot be copied: ${(err as Error).message}`]);
        continue;
      }
      if (this.deps.engineUp && !(await this.deps.engineUp())) {
        this.deps.log.error({ exercise: id }, `the Docker engine does not answer: ${id} of ${source.label} waits for the next fetch to be self-tested`);
        fs.rmSync(candidate, { recursive: true, force: true });
        complete = false;
        continue;
      }
      this.states.get(source)!.testing = id;
      this.deps.log.info({ exercise: id, commit }, `self-testing ${id} of ${source.label} at ${commit.slice(0, 12)}`);
      const report = await this.deps.selfTest(exercise, this.abort.signal).catch((err: Error) => ({ ok: false, problems: [`could not be run: ${err.message}`] }));
      this.states.get(source)!.testing = null;
      if (this.abort.signal.aborted) return false;
      if (!report.ok) {
        await fail('self-test', report.problems.length ? report.problems : ['the self-test did not pass']);
        continue;
      }
      let published: Exercise;
      try {
        const stored = this.deps.versions.publish(id, candidate, version);
        const fromStore = loadExercise(stored.dir, { imageExists: this.deps.imageExists, id });
        if ('problems' in fromStore) throw new Error(fromStore.problems.map(formatProblem).join('; '));
        published = fromStore.exercise;
      } catch (err) {
        await fail('validation', [`cannot be stored: ${(err as Error).message}`]);
        continue;
      } finally {
        fs.rmSync(candidate, { recursive: true, force: true });
      }
      const publication: Publication = { exerciseId: id, source: source.label, commit, version, publishedAt: Date.now() };
      await this.deps.repo.publish(publication);
      this.deps.catalog.setCurrent(published);
      this.deps.log.info({ exercise: id, commit, version }, `published ${id} ${version.slice(0, 12)} from ${source.label} at ${commit.slice(0, 12)}`);
    }
    return complete;
  }

  private async publishedElsewhere(id: string, label: string): Promise<string | undefined> {
    const p = (await this.deps.repo.publications()).find((x) => x.exerciseId === id);
    return p && p.source !== label && this.deps.sources.some((s) => s.label === p.source) ? p.source : undefined;
  }
}

/** The exercise directories of a checkout: each directory (not hidden) holding an exercise.yaml. */
export function exerciseDirs(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && fs.lstatSync(path.join(root, e.name, 'exercise.yaml'), { throwIfNoEntry: false })?.isFile())
    .map((e) => path.join(root, e.name))
    .sort();
}
