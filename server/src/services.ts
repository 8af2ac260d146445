import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import type { Db } from './store/db.js';
import { instanceId, openStore } from './store/open.js';
import type { Database } from './store/sql.js';
import { AttemptsRepo } from './store/attempts-repo.js';
import { GradingRepo } from './store/grading-repo.js';
import { LeasesRepo } from './store/leases-repo.js';
import { InvitesRepo } from './store/invites-repo.js';
import { ReviewsRepo } from './store/reviews-repo.js';
import type { ExerciseRunner } from './attempts/exercise-runner.js';
import { engineRunner } from './attempts/engine-runner.js';
import { AttemptService, type Logger } from './attempts/attempt-service.js';
import { ExerciseCatalog, formatProblem } from './exercises/catalog.js';
import { EXERCISE_VERSIONS_DIR, ExerciseVersionStore } from './exercises/versions.js';
import type { JobDriver } from './sandbox/sandbox-driver.js';
import { DockerDriver } from './sandbox/drivers/docker/docker-driver.js';
import { DiskWatch } from './sandbox/disk-watch.js';
import { OomWatch } from './sandbox/oom-watch.js';
import { effectiveLimits } from './sandbox/policy.js';
import { InviteService } from './invites/invite-service.js';
import { PracticeService } from './practice/practice-service.js';
import { ReviewService } from './review/review-service.js';
import { AuthService } from './auth/service.js';
import { OidcService } from './auth/oidc.js';
import { repoRoot } from './paths.js';
import { WebhooksRepo } from './store/webhooks-repo.js';
import { DomainEvents } from './webhooks/events.js';
import { WebhookService } from './webhooks/service.js';
import { SignalsService } from './workspace-files/signals.js';
import { TransferService } from './workspace-files/transfer.js';
import { FilesService } from './workspace-files/files-service.js';
import { ExerciseSourcesRepo } from './store/exercise-sources-repo.js';
import { EXERCISE_SOURCES_DIR, GitSource } from './exercises/git-source.js';
import { ExercisePublisher } from './exercises/publish.js';
import { selfTest } from './grading/self-test.js';

export interface ServiceOptions {
  config: Config;
  /** Defaults to the Docker driver on the engine DOCKER_HOST names. */
  driver?: (instance: string) => JobDriver;
  /** Maps an exercise's image name to an engine image reference. */
  imageRef?: (image: string) => string;
  /** Extra labels on every sandbox (tests mark what they create). */
  sandboxLabels?: Record<string, string>;
  runner?: ExerciseRunner;
}

export interface Services {
  config: Config;
  /** The database every repository talks to (store/sql.ts): SQLite, or PostgreSQL with OPSLAB_DATABASE_URL. */
  sql: Database;
  /** The SQLite connection itself (tests and maintenance read the file); null on PostgreSQL. */
  sqlite: Db | null;
  driver: JobDriver;
  catalog: ExerciseCatalog;
  attempts: AttemptService;
  auth: AuthService;
  /** Single sign-on through an OpenID Connect provider; null when OPSLAB_OIDC_ISSUER is not set. */
  oidc: OidcService | null;
  invites: InviteService;
  reviews: ReviewService;
  practice: PracticeService;
  /** The per-attempt disk quota (runs while the app is ready). */
  diskWatch: DiskWatch;
  /** Notices sandboxes killed for memory (runs while the app is ready). */
  oomWatch: OomWatch;
  instance: string;
  /** Signed webhooks: the lifecycle's events, sent in the background (runs while the app is ready). */
  webhooks: WebhookService;
  /** The workspace's editor: files of a running attempt's sandbox. */
  files: FilesService;
  /** Exercises from git repositories (OPSLAB_EXERCISES_GIT), self-tested before they are published; null without any. */
  publisher: ExercisePublisher | null;
  /** Where each exercise comes from and what failed to publish. */
  exerciseSources: ExerciseSourcesRepo;
  /** Uploads into and downloads from a running attempt's sandbox. */
  transfer: TransferService;
  /** Pastes and focus changes the workspace's page reports. */
  signals: SignalsService;
}

export const sandboxImageRef = (image: string) => `opslab/sandbox-${image}:latest`;

/** Opens the database and wires the domain services together; nothing runs until the app starts them. */
export async function createServices(opts: ServiceOptions, log: Logger): Promise<Services> {
  const { config } = opts;
  const { sql, sqlite } = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    onIdleError: (err) => log.warn({ err: err.message }, 'a database connection failed while idle'),
  });
  const instance = await instanceId(sql);
  const driver = opts.driver
    ? opts.driver(instance)
    : new DockerDriver({ instance, policy: config.sandbox, extraLabels: opts.sandboxLabels ?? {} });
  const sandboxesDir = path.join(repoRoot(), 'sandboxes');
  // Every exercise is served from a stored copy of its current version; invites and attempts keep theirs.
  const versions = new ExerciseVersionStore(path.join(config.dataDir, EXERCISE_VERSIONS_DIR));
  versions.sweep();
  const imageExists = (image: string) => fs.existsSync(path.join(sandboxesDir, image, 'Dockerfile'));
  const catalog = ExerciseCatalog.load(config.exercisesDir, { imageExists, versions });
  for (const problem of catalog.problems) log.error({}, `exercise left out: ${formatProblem(problem)}`);
  const imageRef = opts.imageRef ?? sandboxImageRef;
  const exerciseSources = new ExerciseSourcesRepo(sql);
  const repo = new AttemptsRepo(sql);
  const grading = new GradingRepo(sql);
  const runner: ExerciseRunner =
    opts.runner ??
    engineRunner({
      driver,
      config,
      imageRef,
      labels: opts.sandboxLabels ?? {},
      log: (message, data) => log.info(data ?? {}, message),
    });
  // The lifecycle's events: the services publish, the webhooks subscribe.
  const events = new DomainEvents((err, event) => log.error({ err: err.message, event: event.type }, 'event listener failed'));
  const attempts = new AttemptService({ config, repo, grading, leases: new LeasesRepo(sql), push: sql.push, runner, driver, catalog, log, imageRef, events });
  // A version one replica is self-testing is not tested by another at the same time (a named lease per version).
  const claim = (key: string, ms: number) => attempts.ownership.acquire(key, ms);
  const publisher = createPublisher(opts, { instance, catalog, versions, repo: exerciseSources, imageExists, imageRef, log, claim });
  const auth = new AuthService(sql, config);
  const oidc = config.oidc ? new OidcService({ config: config.oidc, sql, auth, publicUrl: () => config.publicUrl }) : null;
  const invites = new InviteService({
    repo: new InvitesRepo(sql),
    attempts,
    catalog,
    config,
    auth,
    events,
  });
  const reviews = new ReviewService({
    attempts,
    attemptsRepo: repo,
    grading,
    reviews: new ReviewsRepo(sql),
    invites,
    catalog,
    auth,
    publicUrl: config.publicUrl,
    events,
  });
  const practice = new PracticeService({ config, attempts, repo, grading, catalog });
  const diskWatch = new DiskWatch({
    driver,
    repo,
    attempts,
    quotaBytes: config.sandbox.diskQuotaBytes,
    intervalMs: config.sandbox.diskIntervalMs,
    log,
  });
  const oomWatch = new OomWatch({
    driver,
    repo,
    attempts,
    memoryMb: async (id) => effectiveLimits(config.sandbox, catalog.forAttempt((await repo.get(id)) ?? { exerciseId: '' })?.limits).memoryMb,
    log,
  });
  const webhooks = new WebhookService({ repo: new WebhooksRepo(sql), config: config.webhooks, auth, events, log });
  const files = new FilesService({
    driver,
    attempts,
    catalog,
    addEvent: (id, kind, detail) => repo.addEvent(id, kind, detail),
    mark: (id, label) => attempts.markRecording(id, label),
  });
  const transfer = new TransferService({
    driver,
    attempts,
    catalog,
    invite: (id) => invites.forAttempt(id),
    addEvent: (id, kind, detail) => repo.addEvent(id, kind, detail),
    mark: (id, label) => attempts.markRecording(id, label),
  });
  const signals = new SignalsService({
    addEvent: (id, kind, detail) => repo.addEvent(id, kind, detail),
    events: (id, kinds) => repo.eventsOfKinds(id, kinds),
    mark: (id, label) => attempts.markRecording(id, label),
  });
  // An absence still open when the attempt ends is recorded up to the end.
  events.subscribe(async (event) => {
    if (event.type === 'attempt.ended') await signals.close(event.attempt.id, 'page away at the end');
  });
  return { config, sql, sqlite, driver, catalog, attempts, auth, oidc, invites, reviews, practice, diskWatch, oomWatch, instance, webhooks, files, publisher, exerciseSources, transfer, signals };
}

/**
 * The publisher of exercises from git, with the catalog's published versions restored. Its self-tests run on a
 * driver of their own (instance `<instance>-publish`), so the reconciler never takes their sandboxes for orphans,
 * one exercise at a time with OPSLAB_EXERCISES_GIT_SELFTEST_PARALLEL sandboxes; they are not counted in
 * OPSLAB_MAX_SANDBOXES. What was published before is served again once the app restores it (ExercisePublisher.restore).
 */
function createPublisher(
  opts: ServiceOptions,
  deps: {
    instance: string;
    catalog: ExerciseCatalog;
    versions: ExerciseVersionStore;
    repo: ExerciseSourcesRepo;
    imageExists: (image: string) => boolean;
    imageRef: (image: string) => string;
    log: Logger;
    claim: (key: string, ms: number) => Promise<boolean>;
  },
): ExercisePublisher | null {
  const { config } = opts;
  const git = config.exercisesGit;
  if (git.sources.length === 0) return null;
  // Replicas sharing a data directory and an engine keep their clones and their self-tests' sandboxes apart: one's
  // start-up sweep must not remove another's self-test under way.
  const replica = config.replica.id;
  const instance = `${deps.instance}-publish${replica ? `-${replica}` : ''}`;
  const driver = opts.driver
    ? opts.driver(instance)
    : new DockerDriver({ instance, policy: config.sandbox, extraLabels: opts.sandboxLabels ?? {} });
  const root = path.join(config.dataDir, EXERCISE_SOURCES_DIR, ...(replica ? [replica] : []));
  const publisher = new ExercisePublisher({
    sources: git.sources.map((s) => new GitSource(s, root, { timeoutMs: git.timeoutMs, maxBytes: git.maxBytes })),
    catalog: deps.catalog,
    versions: deps.versions,
    repo: deps.repo,
    localDir: config.exercisesDir,
    localIds: new Set(deps.catalog.list().map((e) => e.id)),
    imageExists: deps.imageExists,
    intervalMs: git.intervalMs,
    log: deps.log,
    claim: deps.claim,
    selfTest: async (exercise, signal) => {
      // As `npm run exercise -- test`: an exercise without checks has nothing to test.
      if (exercise.checks.length === 0) return { ok: true, problems: [] };
      const report = await selfTest(exercise, {
        driver,
        policy: config.sandbox,
        seeds: git.selfTestSeeds,
        parallel: git.selfTestParallel,
        labels: opts.sandboxLabels ?? {},
        imageRef: deps.imageRef,
        signal,
      });
      return { ok: report.ok && report.runs.length > 0 && !signal.aborted, problems: report.problems };
    },
    engineUp: () => driver.ping(),
    sweep: async () => {
      for (const s of await driver.listManaged()) await driver.remove(s.id).catch(() => undefined);
      for (const j of await driver.listJobs()) await driver.remove(j.id).catch(() => undefined);
    },
  });
  return publisher;
}
