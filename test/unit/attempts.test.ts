import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../server/src/config.js';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { AttemptService } from '../../server/src/attempts/attempt-service.js';
import { OpslabError } from '../../server/src/errors.js';
import { repoRoot } from '../../server/src/paths.js';
import { FakeDriver } from '../helpers/fake-driver.js';
import { tempDataDir } from '../helpers/server.js';

const silent = { info() {}, warn() {}, error() {} };
const EXERCISE = 'shell-warmup';

describe('attempt lifecycle (fake driver)', () => {
  let dataDir: string;
  let db: Db;
  let config: Config;
  let driver: FakeDriver;
  let repo: AttemptsRepo;
  let service: AttemptService;

  const makeService = (overrides: Partial<Config> = {}) =>
    new AttemptService({
      config: { ...config, ...overrides },
      repo,
      driver,
      catalog: ExerciseCatalog.load(path.join(repoRoot(), 'exercises')),
      log: silent,
      imageRef: (image) => `test/${image}`,
    });

  beforeEach(() => {
    dataDir = tempDataDir();
    config = loadConfig({ OPSLAB_DATA_DIR: dataDir });
    db = openDatabase(dataDir);
    driver = new FakeDriver();
    repo = new AttemptsRepo(db);
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
    expect(attempt.sandboxStatus).toBe('running');
    expect(attempt.startedAt).toBeGreaterThanOrEqual(before);
    expect(attempt.deadline! - attempt.startedAt!).toBe(20 * 60 * 1000);
    const sandbox = driver.sandboxes.get(attempt.sandboxId!)!;
    expect(sandbox.info.runState).toBe('running');
    expect(sandbox.spec.image).toBe('test/base');
    expect(sandbox.spec.limits).toEqual({ memoryMb: 512, cpus: 1, pids: 256 });
    expect(service.tokenMatches(attempt, token)).toBe(true);
    expect(service.tokenMatches(attempt, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBe(false);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    expect(repo.events(attempt.id).map((e) => e.kind)).toEqual(['started']);
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

  it('expires the attempt when its deadline passes, without any client', async () => {
    const { attempt } = await service.start(EXERCISE, { timeLimitSeconds: 1 });
    await waitUntil(() => repo.get(attempt.id)!.state === 'archived', 5000);
    const ended = repo.get(attempt.id)!;
    expect(ended.endReason).toBe('expired');
    expect(ended.endedAt! - ended.deadline!).toBeLessThan(2000);
    expect(driver.sandboxes.size).toBe(0);
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
    const [failed] = repo.listInStates(['failed']);
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
    repo.update(overdue.id, { deadline: Date.now() - 1000 });
    driver.sandboxes.delete(vanished.sandboxId!);
    repo.insert({
      ...running,
      id: 'a_00000000000000000000',
      state: 'created',
      sandboxId: null,
      sandboxStatus: 'provisioning',
    });
    const orphan = driver.addOrphan('a_11111111111111111111');

    service = makeService();
    const report = await service.reconcile();
    expect(report.adopted).toEqual([running.id]);
    expect(report.expired).toEqual([overdue.id]);
    expect(report.missing).toEqual([vanished.id]);
    expect(report.failed).toEqual(['a_00000000000000000000']);
    expect(report.orphansRemoved).toEqual([orphan]);
    expect(repo.get(overdue.id)!.state).toBe('archived');
    expect(repo.get(vanished.id)!.sandboxStatus).toBe('missing');
    expect(driver.sandboxes.has(running.sandboxId!)).toBe(true);
    // A second pass finds nothing left to do.
    const again = await service.reconcile();
    expect(again).toEqual({ adopted: [], expired: [], missing: [], failed: [], archived: [], orphansRemoved: [] });
  });

  it('re-arms deadlines of adopted attempts', async () => {
    const { attempt } = await service.start(EXERCISE);
    await service.shutdown();
    repo.update(attempt.id, { deadline: Date.now() + 800 });
    service = makeService();
    await service.reconcile();
    await waitUntil(() => repo.get(attempt.id)!.state === 'archived', 5000);
    expect(repo.get(attempt.id)!.endReason).toBe('expired');
  });

  it('restarts the shell in the same sandbox after it exited', async () => {
    const { attempt } = await service.start(EXERCISE);
    const first = driver.sessions[0]!;
    await expect(service.restartShell(attempt.id)).rejects.toMatchObject({ statusCode: 409 });
    driver.sandboxes.get(attempt.sandboxId!)!.info.runState = 'exited';
    first.exit();
    await waitUntil(() => repo.get(attempt.id)!.sandboxStatus === 'exited', 2000);
    const restarted = await service.restartShell(attempt.id);
    expect(restarted.sandboxStatus).toBe('running');
    expect(restarted.sandboxId).toBe(attempt.sandboxId);
    expect(driver.sessions).toHaveLength(2);
  });
});

async function waitUntil(test: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
