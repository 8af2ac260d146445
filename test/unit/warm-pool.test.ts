import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseWarmPool, type Config } from '../../server/src/config.js';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { GradingRepo } from '../../server/src/store/grading-repo.js';
import { ExerciseCatalog } from '../../server/src/exercises/catalog.js';
import { AttemptService } from '../../server/src/attempts/attempt-service.js';
import { OpslabError } from '../../server/src/errors.js';
import { LABELS } from '../../server/src/sandbox/labels.js';
import type { SandboxSpec } from '../../server/src/sandbox/sandbox-driver.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { repoRoot } from '../../server/src/paths.js';
import { FakeDriver, FakeRunner } from '../helpers/fake-driver.js';
import { tempDataDir } from '../helpers/server.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { LeasesRepo } from '../../server/src/store/leases-repo.js';

const silent = { info() {}, warn() {}, error() {} };
const WARMUP = 'shell-warmup';
const OTHER = 'ci-triage';

/** The fake driver, labelling pool sandboxes as the Docker driver does (a pool slot, no attempt). */
class PoolFakeDriver extends FakeDriver {
  override async create(spec: SandboxSpec): Promise<string> {
    const id = await super.create(spec);
    if (spec.pool) {
      const info = this.sandboxes.get(id)!.info;
      info.attemptId = null;
      info.labels = { [LABELS.pool]: spec.pool };
    }
    return id;
  }

  /** A pooled sandbox a server that died left behind (its pool slot is unknown to anyone now). */
  addDeadPoolSandbox(): string {
    const id = this.addOrphan(null);
    this.sandboxes.get(id)!.info.labels = { [LABELS.pool]: 'deadbeefdeadbeef' };
    return id;
  }
}

/** Records the variant each sandbox was set up with; setup can be made to fail. */
class VariantRunner extends FakeRunner {
  variants = new Map<string, { seed: string; params: Record<string, string> }>();
  failProvision: Error | null = null;
  override async provision(
    sandboxId: string,
    _exercise?: unknown,
    variant?: { params: Record<string, string>; seed: string },
  ): Promise<void> {
    if (this.failProvision) throw this.failProvision;
    this.provisioned.push(sandboxId);
    this.variants.set(sandboxId, variant!);
  }
}

async function waitUntil(test: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('warm pool configuration', () => {
  it('reads a size for every exercise, a list per exercise, or both', () => {
    expect(parseWarmPool(undefined)).toEqual({ size: 0, perExercise: {} });
    expect(parseWarmPool(' ')).toEqual({ size: 0, perExercise: {} });
    expect(parseWarmPool('3')).toEqual({ size: 3, perExercise: {} });
    expect(parseWarmPool('ci-triage=2, latency-slo=1')).toEqual({ size: 0, perExercise: { 'ci-triage': 2, 'latency-slo': 1 } });
    expect(parseWarmPool('1,ci-triage=0')).toEqual({ size: 1, perExercise: { 'ci-triage': 0 } });
    const c = loadConfig({ OPSLAB_WARM_POOL: 'shell-warmup=2', OPSLAB_WARM_POOL_IDLE_MINUTES: '5' });
    expect(c.warmPool).toEqual({ size: 0, perExercise: { 'shell-warmup': 2 }, idleMs: 300_000 });
    expect(loadConfig({}).warmPool).toEqual({ size: 0, perExercise: {}, idleMs: 30 * 60_000 });
  });

  it.each([
    ['-1', 'no valid size'],
    ['two', 'no valid size'],
    ['1.5', 'no valid size'],
    ['101', 'no valid size'],
    ['ci-triage=', 'no valid size'],
    ['ci-triage=x', 'no valid size'],
    ['Ci_Triage=1', 'is not an exercise id'],
    ['=1', 'is not an exercise id'],
    ['ci-triage=1,ci-triage=2', 'listed twice'],
    ['1,2', 'more than one bare number'],
    ['ci-triage=1,,', 'an item is empty'],
  ])('refuses OPSLAB_WARM_POOL=%s (%s)', (value, why) => {
    expect(() => loadConfig({ OPSLAB_WARM_POOL: value })).toThrow(ConfigError);
    expect(() => loadConfig({ OPSLAB_WARM_POOL: value })).toThrow('OPSLAB_WARM_POOL');
    expect(() => loadConfig({ OPSLAB_WARM_POOL: value })).toThrow(why);
  });

  it('refuses a bad idle time', () => {
    expect(() => loadConfig({ OPSLAB_WARM_POOL_IDLE_MINUTES: '-5' })).toThrow('OPSLAB_WARM_POOL_IDLE_MINUTES');
  });
});

describe('warm pool (fake driver)', () => {
  const catalog = ExerciseCatalog.load(path.join(repoRoot(), 'exercises'));
  let dataDir: string;
  let db: Db;
  let config: Config;
  let driver: PoolFakeDriver;
  let runner: VariantRunner;
  let repo: AttemptsRepo;
  let grading: GradingRepo;
  let leases: LeasesRepo;
  let service: AttemptService;
  const services: AttemptService[] = [];
  const warnings: string[] = [];

  const makeService = (env: Record<string, string>, overrides: Partial<Config> = {}) => {
    config = { ...loadConfig({ OPSLAB_DATA_DIR: dataDir, ...env }), ...overrides };
    const s = new AttemptService({
      config,
      repo,
      grading,
      leases,
      runner,
      driver,
      catalog,
      log: { ...silent, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') },
      imageRef: (image) => `test/${image}`,
    });
    services.push(s);
    return s;
  };
  const pooledIds = () =>
    [...driver.sandboxes.values()].filter((s) => s.info.labels[LABELS.pool] !== undefined).map((s) => s.info.id);
  const status = (id: string) => service.warmPool.status().find((s) => s.exerciseId === id)!;

  beforeEach(() => {
    dataDir = tempDataDir();
    db = openDatabase(dataDir);
    driver = new PoolFakeDriver();
    runner = new VariantRunner();
    const sql = sqliteSql(db);
    repo = new AttemptsRepo(sql);
    grading = new GradingRepo(sql);
    leases = new LeasesRepo(sql);
    warnings.length = 0;
  });

  afterEach(async () => {
    for (const s of services.splice(0)) await s.shutdown();
    db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is off by default: starts create their own sandbox', async () => {
    service = makeService({});
    await service.startBackground();
    expect(service.warmPool.enabled).toBe(false);
    const { attempt } = await service.start(WARMUP);
    expect(driver.sandboxes.get(attempt.sandboxId!)!.spec.attemptId).toBe(attempt.id);
    expect(driver.sandboxes.size).toBe(1);
  });

  it('warns about exercises the setting names that do not exist', () => {
    service = makeService({ OPSLAB_WARM_POOL: 'no-such-exercise=2' });
    expect(warnings.join('\n')).toContain('no-such-exercise');
    expect(service.warmPool.enabled).toBe(false);
  });

  it('prepares sandboxes ahead of time and hands one to a start, with its seed, snapshot and a fresh prompt', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=2` });
    await service.startBackground();
    await service.warmPool.whenReady();
    const prepared = pooledIds();
    expect(prepared).toHaveLength(2);
    // Created, started, attached and set up, with no attempt yet.
    for (const id of prepared) {
      const s = driver.sandboxes.get(id)!;
      expect(s.info.runState).toBe('running');
      // Named after the replica whose pool it is, so that other replicas leave it alone.
      expect(s.spec.pool).toBe(`${service.ownership.id}.${s.spec.pool!.split('.')[1]}`);
      expect(s.spec.pool!.split('.')[1]).toMatch(/^[0-9a-f]{16}$/);
      expect(runner.provisioned).toContain(id);
    }
    expect(await repo.listInStates(['created', 'running'])).toHaveLength(0);

    const { attempt } = await service.start(WARMUP);
    expect(prepared).toContain(attempt.sandboxId);
    expect(attempt.state).toBe('running');
    expect(attempt.sandboxStatus).toBe('running');
    // The variant the sandbox was set up with is the attempt's.
    expect(runner.variants.get(attempt.sandboxId!)!.seed).toBe(attempt.seed);
    expect(runner.variants.get(attempt.sandboxId!)!.params).toEqual(attempt.params);
    // No second setup at the start.
    expect(runner.provisioned.filter((id) => id === attempt.sandboxId)).toHaveLength(1);
    // The initial snapshot taken after setup belongs to the attempt.
    const initial = fs.readFileSync(path.join(dataDir, 'snapshots', attempt.id, 'initial.tar'), 'utf8');
    expect(initial).toBe(`snapshot of ${attempt.sandboxId} at 0`);
    // The shell was asked for a fresh prompt, and what it prints from now on is recorded.
    const session = driver.sessions.find((s) => s.written.includes('\x0c'))!;
    expect(session).toBeDefined();
    session.print('root@sandbox:~# ');
    service.flushRecording(attempt.id);
    const cast = parseAsciicast(fs.readFileSync(service.recordingFile(attempt), 'utf8'));
    expect(cast.events.map((e) => [e[1], e[2]])).toEqual(
      expect.arrayContaining([
        ['m', 'started'],
        ['i', '\x0c'],
        ['o', 'root@sandbox:~# '],
      ]),
    );
    expect((await repo.events(attempt.id)).map((e) => e.kind)).toEqual(['started']);
    expect(attempt.deadline! - attempt.startedAt!).toBe(attempt.timeLimitSeconds * 1000);

    // The pool refills in the background.
    await service.warmPool.whenReady();
    expect(pooledIds().filter((id) => id !== attempt.sandboxId)).toHaveLength(2);
    expect(driver.sandboxes.size).toBe(3);
  });

  it('never hands a pooled sandbox out twice, and every attempt gets its own seed', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=1` });
    await service.startBackground();
    await service.warmPool.whenReady();
    // Several starts at once: one claims the ready sandbox, the others start cold.
    const started = await Promise.all([1, 2, 3].map(() => service.start(WARMUP)));
    const sandboxes = started.map((s) => s.attempt.sandboxId);
    expect(new Set(sandboxes).size).toBe(3);
    expect(started.filter((s) => runner.variants.get(s.attempt.sandboxId!)?.seed === s.attempt.seed)).toHaveLength(3);
    const cold = started.filter((s) => driver.sandboxes.get(s.attempt.sandboxId!)!.spec.pool === undefined);
    expect(cold).toHaveLength(2);

    const seen = new Set(sandboxes);
    const seeds = new Set(started.map((s) => s.attempt.seed));
    for (let i = 0; i < 5; i++) {
      await service.warmPool.whenReady();
      const { attempt } = await service.start(WARMUP);
      expect(seen.has(attempt.sandboxId!)).toBe(false);
      expect(seeds.has(attempt.seed!)).toBe(false);
      seen.add(attempt.sandboxId!);
      seeds.add(attempt.seed!);
      await service.submit(attempt.id);
      // A used sandbox is removed, never returned to the pool.
      expect(driver.sandboxes.has(attempt.sandboxId!)).toBe(false);
      expect(service.warmPool.status()[0]!.ready + service.warmPool.status()[0]!.preparing).toBeLessThanOrEqual(1);
    }
  });

  it('removes sandboxes nobody claimed within the idle time and refills only at the next start', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=2,${OTHER}=1`, OPSLAB_WARM_POOL_IDLE_MINUTES: '10' });
    await service.startBackground();
    await service.warmPool.whenReady();
    expect(pooledIds()).toHaveLength(3);
    // Not yet idle long enough.
    expect(service.warmPool.shrinkIdle(Date.now() + 9 * 60_000)).toEqual([]);
    const removed = service.warmPool.shrinkIdle(Date.now() + 11 * 60_000);
    expect(removed).toHaveLength(3);
    await waitUntil(() => pooledIds().length === 0);
    // A reconcile pass (which tops pools up) does not bring them back.
    await service.reconcile();
    await new Promise((r) => setTimeout(r, 20));
    expect(pooledIds()).toHaveLength(0);
    expect(status(WARMUP).dormant).toBe(true);

    // The next start of the exercise starts cold and wakes its pool; the other exercise stays dormant.
    const { attempt } = await service.start(WARMUP);
    expect(driver.sandboxes.get(attempt.sandboxId!)!.spec.pool).toBeUndefined();
    await waitUntil(() => status(WARMUP).ready === 2);
    expect(status(OTHER)).toMatchObject({ ready: 0, dormant: true });
  });

  it('counts pooled sandboxes against the capacity and gives them up first when the machine is full', async () => {
    // 4 sandboxes in all, 2 for practice.
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=2,${OTHER}=2`, OPSLAB_MAX_SANDBOXES: '4' });
    await service.startBackground();
    await waitUntil(() => service.warmPool.size === 4 && status(WARMUP).ready + status(OTHER).ready === 4);
    expect(driver.sandboxes.size).toBe(4);

    // A claim converts a pooled sandbox: nothing needs to go, and the pool does not grow past the limit.
    const a = (await service.start(WARMUP)).attempt;
    await new Promise((r) => setTimeout(r, 20));
    expect(driver.sandboxes.size).toBe(4);
    expect(service.warmPool.size).toBe(3);

    // An interview of an exercise with nothing ready: a pooled sandbox goes to make room, not the practice attempt.
    const b = (await service.start('latency-slo', { mode: 'interview' })).attempt;
    expect((await repo.get(a.id))!.state).toBe('running');
    expect(driver.sandboxes.size).toBe(4);
    expect(service.warmPool.size).toBe(2);

    // Practice has its share (2): a second practice claim is fine, a third is refused and its sandbox stays pooled.
    const c = (await service.start(OTHER)).attempt;
    await new Promise((r) => setTimeout(r, 20));
    expect(driver.sandboxes.size).toBe(4);
    const before = service.warmPool.size;
    const err = await service.start(WARMUP).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpslabError);
    expect((err as OpslabError).statusCode).toBe(503);
    expect(service.warmPool.size).toBe(before);

    // Interviews take the rest: the pool empties before any practice attempt is stopped.
    const d = (await service.start('latency-slo', { mode: 'interview' })).attempt;
    expect(service.warmPool.size).toBe(0);
    expect(await Promise.all([a, b, c, d].map(async (x) => (await repo.get(x.id))!.state))).toEqual(['running', 'running', 'running', 'running']);
    expect(driver.sandboxes.size).toBe(4);
    // Full of attempts: the pool stays empty.
    await service.reconcile();
    await new Promise((r) => setTimeout(r, 20));
    expect(service.warmPool.size).toBe(0);
    // Room comes back when an attempt ends.
    await service.submit(d.id);
    await service.reconcile();
    await waitUntil(() => service.warmPool.size === 1);
    expect(driver.sandboxes.size).toBe(4);
  });

  it('the reconciler leaves the pool alone, keeps claimed sandboxes after a restart and reaps a dead pool', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=2` });
    await service.startBackground();
    await service.warmPool.whenReady();
    const claimed = (await service.start(WARMUP)).attempt;
    await service.warmPool.whenReady();
    const pooledNow = pooledIds().filter((id) => id !== claimed.sandboxId);
    const report = await service.reconcile();
    expect(report.orphansRemoved).toEqual([]);
    for (const id of [...pooledNow, claimed.sandboxId!]) expect(driver.sandboxes.has(id)).toBe(true);

    // A restart: the pool's unclaimed sandboxes go with the old server, the claimed one stays the attempt's.
    await service.shutdown();
    expect(pooledIds()).toEqual([claimed.sandboxId]);
    // A pool sandbox a crashed server left behind.
    const dead = driver.addDeadPoolSandbox();
    service = makeService({});
    const after = await service.reconcile();
    expect(after.adopted).toEqual([claimed.id]);
    expect(after.orphansRemoved).toEqual([dead]);
    expect(driver.sandboxes.has(claimed.sandboxId!)).toBe(true);
    expect(driver.sandboxes.has(dead)).toBe(false);
    // Never adopted as an attempt.
    expect((await repo.listInStates(['created', 'running', 'failed'])).map((a) => a.id)).toEqual([claimed.id]);
    expect((await repo.get(claimed.id))!.state).toBe('running');
  });

  it('removes a sandbox whose setup failed and tries again later', async () => {
    runner.failProvision = new Error('setup exited with 3');
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=1` });
    await service.startBackground();
    await waitUntil(() => warnings.some((w) => w.includes('could not be prepared')));
    await waitUntil(() => driver.sandboxes.size === 0);
    expect(service.warmPool.size).toBe(0);
    // Still failing: the start is cold, and fails like any start whose files cannot be put in place (the exercise
    // has no setup script: after it answered, the attempt failed and its sandbox removed).
    const { attempt } = await service.start(WARMUP);
    await service.settled(attempt.id);
    expect(await service.get(attempt.id)).toMatchObject({ state: 'failed', failure: 'setup exited with 3' });
    expect(driver.sandboxes.size).toBe(0);
  });

  it('replaces a pooled sandbox whose shell exited, and never hands it out', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=1` });
    await service.startBackground();
    await service.warmPool.whenReady();
    const [id] = pooledIds();
    const session = driver.sessions.at(-1)!;
    session.exit();
    await waitUntil(() => !driver.sandboxes.has(id!));
    expect(warnings.join('\n')).toContain('could not be prepared');
    const { attempt } = await service.start(WARMUP);
    expect(attempt.sandboxId).not.toBe(id);
  });

  it('removes the pool when the server stops, and a stopped pool hands nothing out', async () => {
    service = makeService({ OPSLAB_WARM_POOL: `${WARMUP}=2` });
    await service.startBackground();
    await service.warmPool.whenReady();
    await service.warmPool.shutdown();
    expect(driver.sandboxes.size).toBe(0);
    expect(service.warmPool.take(WARMUP)).toBeNull();
  });
});
