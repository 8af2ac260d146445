import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../server/src/config.js';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { AttemptService } from '../../server/src/attempts/attempt-service.js';
import { OpslabError } from '../../server/src/errors.js';
import { REMOVAL_RETRY_MS } from '../../server/src/attempts/ending.js';
import { repoRoot } from '../../server/src/paths.js';
import { FakeDriver, FakeRunner } from '../helpers/fake-driver.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { tempDataDir } from '../helpers/server.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { LeasesRepo } from '../../server/src/store/leases-repo.js';

const silent = { info() {}, warn() {}, error() {} };
const EXERCISE = 'shell-warmup';

describe('attempt lifecycle (fake driver)', () => {
  let dataDir: string;
  let db: Db;
  let config: Config;
  let driver: FakeDriver;
  let repo: AttemptsRepo;
  let service: AttemptService;
  let runner: FakeRunner;
  let grading: GradingRepo;
  let leases: LeasesRepo;

  const makeService = (overrides: Partial<Config> = {}) =>
    new AttemptService({
      config: { ...config, ...overrides },
      repo,
      grading,
      leases,
      runner,
      driver,
      catalog,
      log: silent,
      imageRef: (image) => `test/${image}`,
    });

  const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));

  beforeEach(() => {
    dataDir = tempDataDir();
    config = loadConfig({ OPSLAB_DATA_DIR: dataDir });
    db = openDatabase(dataDir);
    driver = new FakeDriver();
    const sql = sqliteSql(db);
    repo = new AttemptsRepo(sql);
    grading = new GradingRepo(sql);
    leases = new LeasesRepo(sql);
    runner = new FakeRunner();
    service = makeService();
  });

  afterEach(async () => {
    await service.shutdown();
    db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a running attempt with a server-side deadline and the platform limits', async () => {
    const before = Date.now();
    const { attempt, token } = await service.start(EXERCISE);
    expect(attempt.state).toBe('running');
    // Until its files are in place and the initial snapshot stored.
    expect(attempt.sandboxStatus).toBe('provisioning');
    await service.settled(attempt.id);
    expect((await repo.get(attempt.id))!.sandboxStatus).toBe('running');
    expect(attempt.startedAt).toBeGreaterThanOrEqual(before);
    // The clock starts once the sandbox is seeded, a moment after it started.
    expect(attempt.deadline! - attempt.startedAt!).toBeGreaterThanOrEqual(20 * 60 * 1000);
    expect(attempt.deadline! - attempt.startedAt!).toBeLessThan(20 * 60 * 1000 + 5000);
    expect(runner.provisioned).toEqual([attempt.sandboxId]);
    expect(attempt.seed).toMatch(/^[0-9a-f]{32}$/);
    const sandbox = driver.sandboxes.get(attempt.sandboxId!)!;
    expect(sandbox.info.runState).toBe('running');
    expect(sandbox.spec.image).toBe('test/base');
    expect(sandbox.spec.limits).toEqual({ memoryMb: 512, cpus: 1, pids: 256 });
    expect(service.tokenMatches(attempt, token)).toBe(true);
    expect(service.tokenMatches(attempt, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBe(false);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    expect((await repo.events(attempt.id)).map((e) => e.kind)).toEqual(['started']);
  });

  it('answers before the files are in place; the shell, the checks and an ending wait for the initial snapshot', async () => {
    let copied!: () => void;
    runner.provision = async (id: string) => {
      runner.provisioned.push(id);
      await new Promise<void>((resolve) => (copied = resolve));
    };
    const { attempt } = await service.start(EXERCISE);
    expect(attempt.state).toBe('running');
    const terminal = await service.terminalFor(attempt);
    const session = driver.sessions.at(-1)!;
    terminal.input(Buffer.from('ls\r'));
    const checks = service.runChecks(attempt.id).then(() => 'checked', () => 'checked');
    const ended = service.submit(attempt.id);
    await new Promise((r) => setTimeout(r, 30));
    // Nothing reached the sandbox, nothing was graded, and the attempt still runs.
    expect(session.written).toEqual([]);
    expect(runner.graded).toEqual([]);
    expect((await repo.get(attempt.id))!.state).toBe('running');
    const initial = path.join(dataDir, 'snapshots', attempt.id, 'initial.tar');
    expect(fs.existsSync(initial)).toBe(false);
    copied();
    const done = await ended;
    await checks;
    expect(session.written).toEqual(['ls\r']);
    expect(done.state).toBe('archived');
    // The snapshot was taken once the files were in place, and stored before the final diff read it.
    expect(fs.readFileSync(initial, 'utf8')).toBe(`snapshot of ${attempt.sandboxId} at 0`);
    expect(service.snapshotDiff(attempt.id)?.diff).toContain(`snapshot of ${attempt.sandboxId} at 0`);
  });

  it('fails the attempt, closes its terminal and removes its sandbox when its files cannot be put in place after it answered', async () => {
    runner.provision = async () => {
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('copy failed: no space left on device');
    };
    const { attempt } = await service.start(EXERCISE);
    const terminal = await service.terminalFor(attempt);
    await service.settled(attempt.id);
    const failed = (await repo.get(attempt.id))!;
    expect(failed).toMatchObject({ state: 'failed', sandboxStatus: 'removed' });
    expect(failed.failure).toContain('no space left on device');
    expect(terminal.isClosed).toBe(true);
    expect(driver.sandboxes.size).toBe(0);
    expect((await repo.events(attempt.id)).map((e) => e.kind)).toEqual(['started', 'failed']);
    await expect(service.submit(attempt.id)).rejects.toMatchObject({ statusCode: 409 });
    // The snapshot failing does the same.
    runner.provision = FakeRunner.prototype.provision.bind(runner);
    runner.snapshot = async () => {
      throw new Error('archive read failed');
    };
    const second = (await service.start(EXERCISE)).attempt;
    await service.settled(second.id);
    expect(await repo.get(second.id)).toMatchObject({ state: 'failed', failure: 'archive read failed', sandboxStatus: 'removed' });
    expect(driver.sandboxes.size).toBe(0);
  });

  it('waits for a setup script before it answers: its failure is the start\'s answer, its time not the candidate\'s', async () => {
    const withSetup = catalog.list().find((e) => e.hasSetup)!;
    runner.provision = async () => {
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('setup of exercise failed with exit code 3');
    };
    const err = await service.start(withSetup.id).catch((e: unknown) => e);
    expect((err as OpslabError).statusCode).toBe(502);
    expect((err as OpslabError).message).toContain('exit code 3');
    expect(driver.sandboxes.size).toBe(0);
    const t0 = Date.now();
    runner.provision = async (id: string) => {
      await new Promise((r) => setTimeout(r, 200));
      runner.provisioned.push(id);
    };
    const { attempt } = await service.start(withSetup.id);
    expect(runner.provisioned).toEqual([attempt.sandboxId]);
    expect(attempt.deadline! - withSetup.timeLimitMinutes * 60_000).toBeGreaterThanOrEqual(t0 + 200);
  });

  it('fails a start that answered but whose files a server that died never put in place, and removes its sandbox', async () => {
    const { attempt } = await service.start(EXERCISE);
    await service.shutdown();
    // What a server that died before its files were in place leaves: the attempt running, its sandbox provisioning.
    await repo.update(attempt.id, { sandboxStatus: 'provisioning' });
    service = makeService();
    const report = await service.reconcile();
    expect(report.failed).toEqual([attempt.id]);
    expect(await repo.get(attempt.id)).toMatchObject({ state: 'failed', failure: 'provisioning was interrupted', sandboxStatus: 'removed' });
    expect(driver.sandboxes.has(attempt.sandboxId!)).toBe(false);
  });

  it('refuses an unknown exercise with a 404', async () => {
    await expect(service.start('no-such-exercise')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('submits once, removes the sandbox and archives the attempt', async () => {
    const { attempt } = await service.start(EXERCISE);
    const done = await service.submit(attempt.id);
    expect(done.state).toBe('archived');
    expect(done.endReason).toBe('submitted');
    expect(done.sandboxStatus).toBe('removed');
    expect(driver.sandboxes.has(attempt.sandboxId!)).toBe(false);
    await expect(service.submit(attempt.id)).rejects.toMatchObject({ statusCode: 409 });
    const recording = fs.readFileSync(service.recordingFile(done), 'utf8');
    expect(recording).toContain('"m","submitted"');
  });

  it('tries a refused sandbox removal again within seconds, then leaves it to the reconciler', async () => {
    const { attempt } = await service.start(EXERCISE);
    const remove = driver.remove.bind(driver);
    let refusals = 1;
    driver.remove = async (id: string) => {
      if (refusals-- > 0) throw new Error('tried to kill container, but did not receive an exit event');
      return remove(id);
    };
    const t0 = Date.now();
    const done = await service.submit(attempt.id);
    expect(done.state).toBe('archived');
    expect(driver.sandboxes.has(attempt.sandboxId!)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(REMOVAL_RETRY_MS[0]! - 50);

    // Refused every time: the attempt stays submitted after the quick tries, for the reconciler.
    const second = await service.start(EXERCISE);
    let tries = 0;
    driver.remove = async () => {
      tries++;
      throw new Error('engine refused');
    };
    const left = await service.submit(second.attempt.id);
    expect(left.state).toBe('submitted');
    expect(tries).toBe(REMOVAL_RETRY_MS.length + 1);
    driver.remove = remove;
  }, 15_000);

  it('expires the attempt when its deadline passes, without any client', async () => {
    const { attempt } = await service.start(EXERCISE, { timeLimitSeconds: 1 });
    await waitUntil(async () => (await repo.get(attempt.id))!.state === 'archived', 5000);
    const ended = (await repo.get(attempt.id))!;
    expect(ended.endReason).toBe('expired');
    expect(ended.endedAt! - ended.deadline!).toBeLessThan(2000);
    expect(driver.sandboxes.size).toBe(0);
  });

  it('purges attempts past the retention period with their files, and unused invites that expired long ago', async () => {
    service = makeService({ retentionDays: 30 });
    const old = (await service.start(EXERCISE)).attempt;
    const recent = (await service.start(EXERCISE)).attempt;
    const running = (await service.start(EXERCISE)).attempt;
    await service.submit(old.id);
    await service.submit(recent.id);
    const day = 86_400_000;
    db.prepare('UPDATE attempts SET ended_at = ? WHERE id = ?').run(Date.now() - 31 * day, old.id);
    db.prepare(
      `INSERT INTO users (id, email, name, role, created_at) VALUES ('u_1', 'i@example.test', 'I', 'interviewer', 0)`,
    ).run();
    const invite = db.prepare(
      `INSERT INTO invites (id, token_hash, exercise_id, candidate_name, candidate_email, time_limit_seconds,
         show_feedback, created_by, created_at, expires_at) VALUES (?, ?, 'shell-warmup', 'C', 'c@example.test', 60, 1, 'u_1', 0, ?)`,
    );
    invite.run('i_old', 'h1', Date.now() - 40 * day);
    invite.run('i_new', 'h2', Date.now() + day);
    const recording = service.recordingFile((await repo.get(old.id))!);
    expect(fs.existsSync(recording)).toBe(true);

    const report = await service.reconcile();
    expect(report.purged).toEqual([old.id]);
    expect(await repo.get(old.id)).toBeUndefined();
    expect(fs.existsSync(recording)).toBe(false);
    expect((await repo.get(recent.id))?.state).toBe('archived');
    expect((await repo.get(running.id))?.state).toBe('running');
    const invites = db.prepare('SELECT id FROM invites').all() as { id: string }[];
    expect(invites.map((i) => i.id)).toEqual(['i_new']);

    // 0 keeps everything (practice too, when its own retention is 0: as long as interviews).
    service = makeService({ retentionDays: 0, practice: { ...config.practice, retentionDays: 0 } });
    db.prepare('UPDATE attempts SET ended_at = ? WHERE id = ?').run(Date.now() - 3650 * day, recent.id);
    expect((await service.reconcile()).purged).toEqual([]);
    // Practice attempts have their own, shorter retention (OPSLAB_PRACTICE_RETENTION_DAYS), even when interviews are kept.
    service = makeService({ retentionDays: 0, practice: { ...config.practice, retentionDays: 14 } });
    expect((await service.reconcile()).purged).toEqual([recent.id]);
  });

  it('answers 503 with Retry-After when all sandboxes are in use', async () => {
    service = makeService({ maxSandboxes: 1 });
    await service.start(EXERCISE);
    const err = await service.start(EXERCISE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpslabError);
    expect((err as OpslabError).statusCode).toBe(503);
    expect((err as OpslabError).headers['retry-after']).toMatch(/^\d+$/);
  });

  it('marks the attempt failed and leaves nothing behind when the sandbox cannot be created', async () => {
    driver.failCreate = new Error('image not found: test/base');
    const err = await service.start(EXERCISE).catch((e: unknown) => e);
    expect((err as OpslabError).statusCode).toBe(502);
    expect((err as OpslabError).message).toContain('image not found');
    const [failed] = await repo.listInStates(['failed']);
    expect(failed?.failure).toContain('image not found');
    expect(driver.sandboxes.size).toBe(0);
  });

  it('reconciles: adopts the running, expires the overdue, marks the vanished, fails the interrupted, reaps orphans', async () => {
    const running = (await service.start(EXERCISE)).attempt;
    const overdue = (await service.start(EXERCISE)).attempt;
    const vanished = (await service.start(EXERCISE)).attempt;
    await service.shutdown();
    // What a crash leaves: an overdue deadline, a container removed behind our back, provisioning cut short,
    // and a labelled container nobody owns.
    await repo.update(overdue.id, { deadline: Date.now() - 1000 });
    driver.sandboxes.delete(vanished.sandboxId!);
    await repo.insert({
      ...running,
      id: 'a_00000000000000000000',
      state: 'created',
      sandboxId: null,
      sandboxStatus: 'provisioning',
    });
    const orphan = driver.addOrphan('a_11111111111111111111');
    driver.jobs.push({ id: 'grader-old', role: 'grader', ageSeconds: 3 * 3600 }, { id: 'grader-now', role: 'grader', ageSeconds: 20 });

    service = makeService();
    const report = await service.reconcile();
    expect(report.adopted).toEqual([running.id]);
    expect(report.expired).toEqual([overdue.id]);
    expect(report.missing).toEqual([vanished.id]);
    expect(report.failed).toEqual(['a_00000000000000000000']);
    expect(report.orphansRemoved).toEqual([orphan]);
    expect(report.jobsRemoved).toEqual(['grader-old']);
    expect(driver.jobs.map((j) => j.id)).toEqual(['grader-now']);
    expect((await repo.get(overdue.id))!.state).toBe('archived');
    expect((await repo.get(vanished.id))!.sandboxStatus).toBe('missing');
    expect(driver.sandboxes.has(running.sandboxId!)).toBe(true);
    // A second pass finds nothing left to do.
    const again = await service.reconcile();
    expect(again).toEqual({
      adopted: [],
      expired: [],
      missing: [],
      failed: [],
      archived: [],
      orphansRemoved: [],
      jobsRemoved: [],
      purged: [],
    });
  });

  it('re-arms deadlines of adopted attempts', async () => {
    const { attempt } = await service.start(EXERCISE);
    await service.shutdown();
    await repo.update(attempt.id, { deadline: Date.now() + 800 });
    service = makeService();
    await service.reconcile();
    await waitUntil(async () => (await repo.get(attempt.id))!.state === 'archived', 5000);
    expect((await repo.get(attempt.id))!.endReason).toBe('expired');
  });

  it('restarts the shell in the same sandbox after it exited', async () => {
    const { attempt } = await service.start(EXERCISE);
    const first = driver.sessions[0]!;
    await expect(service.restartShell(attempt.id)).rejects.toMatchObject({ statusCode: 409 });
    driver.sandboxes.get(attempt.sandboxId!)!.info.runState = 'exited';
    first.exit();
    await waitUntil(async () => (await repo.get(attempt.id))!.sandboxStatus === 'exited', 2000);
    const restarted = await service.restartShell(attempt.id);
    expect(restarted.sandboxStatus).toBe('running');
    expect(restarted.sandboxId).toBe(attempt.sandboxId);
    expect(driver.sessions).toHaveLength(2);
  });
});

describe('grading in the attempt lifecycle (fake driver and runner)', () => {
  let dataDir: string;
  let db: Db;
  let driver: FakeDriver;
  let runner: FakeRunner;
  let repo: AttemptsRepo;
  let grading: GradingRepo;
  let service: AttemptService;
  const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'test/fixtures/unit-exercises'));

  beforeEach(() => {
    dataDir = tempDataDir();
    db = openDatabase(dataDir);
    driver = new FakeDriver();
    runner = new FakeRunner();
    const sql = sqliteSql(db);
    repo = new AttemptsRepo(sql);
    grading = new GradingRepo(sql);
    service = new AttemptService({
      config: loadConfig({ OPSLAB_DATA_DIR: dataDir }),
      repo,
      grading,
      leases: new LeasesRepo(sql),
      runner,
      driver,
      catalog,
      log: silent,
      imageRef: (image) => `test/${image}`,
    });
  });

  afterEach(async () => {
    await service.shutdown();
    db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('draws the variant from the stored seed', async () => {
    const { attempt } = await service.start('graded-demo');
    expect(['red', 'green', 'blue']).toContain(attempt.params.colour);
    expect((await repo.get(attempt.id))!.params).toEqual(attempt.params);
  });

  it('runs checks on demand, rate-limited, and shows candidates only the visible messages', async () => {
    const { attempt } = await service.start('graded-demo', { mode: 'interview' });
    const run = await service.runChecks(attempt.id);
    expect(run.kind).toBe('progress');
    // Practice is generous: every check's message (never the interviewer's details).
    const practice = service.candidateResults(run, { ...attempt, mode: 'practice' });
    expect(practice.checks.every((c) => c.message !== null)).toBe(true);
    expect(JSON.stringify(practice)).not.toContain('details');
    const view = service.candidateResults(run, attempt);
    expect(view.score).toBe(5);
    expect(view.checks).toEqual([
      { id: 'a', title: 'Check A', points: 5, advisory: false, verdict: 'pass', message: 'ok' },
      { id: 'b', title: 'Check B', points: 5, advisory: false, verdict: 'fail', message: null },
    ]);
    expect(JSON.stringify(view)).not.toContain('details');
    const err = await service.runChecks(attempt.id).catch((e: unknown) => e);
    expect((err as OpslabError).statusCode).toBe(429);
    expect(Number((err as OpslabError).headers['retry-after'])).toBeGreaterThan(0);
    expect(await grading.firstPasses(attempt.id)).toEqual({ a: run.finishedAt });
  });

  it('runs at most one check run at a time per attempt', async () => {
    const { attempt } = await service.start('graded-demo');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const grade = runner.grade.bind(runner);
    runner.grade = async (...args) => {
      await gate;
      return grade(...args);
    };
    const first = service.runChecks(attempt.id);
    // Long past the pause between runs, but the first run is still going.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60_000);
    try {
      await expect(service.runChecks(attempt.id)).rejects.toMatchObject({ statusCode: 429 });
    } finally {
      vi.useRealTimers();
    }
    release();
    expect((await first).score).toBe(5);
  });

  it('snapshots, then grades the stored snapshot, before the sandbox is removed at submit', async () => {
    const { attempt } = await service.start('graded-demo');
    const done = await service.submit(attempt.id);
    expect(done.state).toBe('archived');
    // Checks that only read files grade the stored final snapshot, not the live sandbox.
    expect(runner.graded).toEqual([expect.stringMatching(new RegExp(`^snapshot:.*/snapshots/${attempt.id}/final\\.tar$`))]);
    const final = (await grading.final(attempt.id))!;
    expect(final).toMatchObject({ kind: 'final', score: 5, maxScore: 10, error: null });
    expect(service.snapshotDiff(attempt.id)!.changed).toEqual([{ path: '/root/work/x', change: 'modified' }]);
  });

  it('stores a grading that could not run as an error, and still archives', async () => {
    const { attempt } = await service.start('graded-demo');
    runner.failGrade = new Error('grader image missing');
    const done = await service.submit(attempt.id);
    expect(done.state).toBe('archived');
    expect(await grading.final(attempt.id)).toMatchObject({ error: 'grader image missing', results: [] });
    // The evidence was kept first: the snapshot and its diff survive the failed grading.
    expect(service.snapshotDiff(attempt.id)!.changed).toEqual([{ path: '/root/work/x', change: 'modified' }]);
    expect((await repo.events(attempt.id)).map((e) => e.kind)).toContain('snapshot-kept');
  });

  it('grades an attempt that ended before a crash when the reconciler finds it', async () => {
    const { attempt } = await service.start('graded-demo');
    await service.shutdown();
    await repo.update(attempt.id, { state: 'expired', endedAt: Date.now(), endReason: 'expired' });
    const report = await service.reconcile();
    expect(report.archived).toEqual([attempt.id]);
    expect((await grading.final(attempt.id))?.score).toBe(5);
  });

  it('reveals hints one at a time and records each', async () => {
    const { attempt } = await service.start('graded-demo');
    expect(service.hints((await repo.get(attempt.id))!)).toEqual({ revealed: [], total: 2 });
    expect(await service.revealHint(attempt.id)).toEqual({ revealed: ['First hint.'], total: 2 });
    expect(await service.revealHint(attempt.id)).toEqual({ revealed: ['First hint.', 'Second hint.'], total: 2 });
    await expect(service.revealHint(attempt.id)).rejects.toThrow(/already revealed/);
    expect((await repo.events(attempt.id)).filter((e) => e.kind === 'hint').map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('runs the exercise boot script when the shell is restarted in a stopped container', async () => {
    const { attempt } = await service.start('graded-demo');
    driver.sandboxes.get(attempt.sandboxId!)!.info.runState = 'exited';
    driver.sessions[0]!.exit();
    await waitUntil(async () => (await repo.get(attempt.id))!.sandboxStatus === 'exited', 2000);
    await service.restartShell(attempt.id);
    expect(runner.booted).toEqual([attempt.sandboxId]);
  });
});

async function waitUntil(test: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
