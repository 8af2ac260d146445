import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { bringUp, BringUpAbandoned } from '../../server/src/sandbox/bring-up.js';
import type { SandboxSpec } from '../../server/src/sandbox/sandbox-driver.js';
import type { Attempt } from '../../server/src/store/attempts-repo.js';
import { DeadlineTimers } from '../../server/src/attempts/deadlines.js';
import { hashToken, newAttemptId, newAttemptToken, tokenMatches } from '../../server/src/attempts/tokens.js';
import { RETRY_BASE_MS, RETRY_MAX_MS, RetryBackoff } from '../../server/src/attempts/retry-backoff.js';
import { evictionVictim, type Entry } from '../../server/src/attempts/warm-pool-entries.js';
import { FakeDriver } from '../helpers/fake-driver.js';

const silent = { info() {}, warn() {}, error() {} };
const policy = loadConfig({}).sandbox;
const exercise = { id: 'shell-warmup', image: 'base', limits: { memoryMb: 128 } };

/** The fake driver, writing down each step it is asked for. */
class StepDriver extends FakeDriver {
  steps: string[] = [];
  specs: SandboxSpec[] = [];
  override async create(spec: SandboxSpec): Promise<string> {
    this.specs.push(spec);
    this.steps.push('create');
    return super.create(spec);
  }
  override async start(id: string): Promise<void> {
    this.steps.push('start');
    return super.start(id);
  }
  override async attachTerminal(id: string) {
    this.steps.push('attach');
    return super.attachTerminal(id);
  }
}

describe('sandbox bring-up', () => {
  const steps = (driver: StepDriver) => ({ driver, policy, imageRef: (image: string) => `test/${image}` });

  it('attaches before the start for an attempt, so the first byte is seen, and snapshots after setup', async () => {
    const driver = new StepDriver();
    const up = await bringUp(steps(driver), {
      exercise,
      owner: { attemptId: 'a_1', generation: 2 },
      attach: 'before-start',
      onCreated: (id) => void driver.steps.push(`created ${id}`),
      onAttached: () => void driver.steps.push('attached'),
      setup: async () => void driver.steps.push('setup'),
      snapshot: async () => (driver.steps.push('snapshot'), Buffer.from('tar')),
    });
    expect(up.sandboxId).toBe('fake1');
    expect(up.session).not.toBeNull();
    expect((await up.snapshot)?.toString()).toBe('tar');
    expect(driver.steps).toEqual(['create', 'created fake1', 'attach', 'attached', 'start', 'setup', 'snapshot']);
    expect(Object.keys(up.timings)).toEqual(['create', 'attach', 'start', 'setup', 'snapshot']);
    expect(driver.specs[0]).toMatchObject({ attemptId: 'a_1', generation: 2, exerciseId: 'shell-warmup', image: 'test/base' });
    expect(driver.specs[0]!.limits.memoryMb).toBe(128);
  });

  it('attaches after the start (the warm pool) or not at all (the self-test)', async () => {
    const pool = new StepDriver();
    await bringUp(steps(pool), { exercise, owner: { attemptId: '', pool: 'slot' }, attach: 'after-start', setup: async () => {} });
    expect(pool.steps).toEqual(['create', 'start', 'attach']);
    expect(pool.specs[0]).toMatchObject({ pool: 'slot' });
    const selfTest = new StepDriver();
    const up = await bringUp(steps(selfTest), { exercise, owner: { attemptId: 'selftest-1' }, attach: 'no', setup: async () => {} });
    expect(selfTest.steps).toEqual(['create', 'start']);
    expect(up).toMatchObject({ session: null, snapshot: null });
  });

  it('returns once the sandbox runs, with setup and then the snapshot under way (given up like any step)', async () => {
    const driver = new StepDriver();
    let setUp!: () => void;
    let take!: (tar: Buffer) => void;
    let wanted = true;
    const up = await bringUp(steps(driver), {
      exercise,
      owner: { attemptId: 'a_1' },
      attach: 'before-start',
      setup: () => {
        driver.steps.push('setup');
        return new Promise<void>((resolve) => (setUp = resolve));
      },
      snapshot: () => {
        driver.steps.push('snapshot');
        return new Promise<Buffer>((resolve) => (take = resolve));
      },
      wanted: () => wanted,
    });
    // Returned while setup runs; the snapshot waits for it.
    expect(driver.steps).toEqual(['create', 'attach', 'start', 'setup']);
    await new Promise((r) => setTimeout(r, 10));
    expect(driver.steps).toEqual(['create', 'attach', 'start', 'setup']);
    setUp();
    await up.setUp;
    await new Promise((r) => setTimeout(r, 0));
    expect(driver.steps).toEqual(['create', 'attach', 'start', 'setup', 'snapshot']);
    let done = false;
    void up.snapshot!.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    take(Buffer.from('tar'));
    expect((await up.snapshot)!.toString()).toBe('tar');
    // A setup that fails fails the snapshot with it; no longer wanted once set up: given up like any other step.
    const failing = await bringUp(steps(new StepDriver()), {
      exercise,
      owner: { attemptId: 'a_2' },
      attach: 'before-start',
      setup: async () => {
        throw new Error('setup failed');
      },
      snapshot: async () => Buffer.from('tar'),
    });
    await expect(failing.setUp).rejects.toThrow('setup failed');
    await expect(failing.snapshot).rejects.toThrow('setup failed');
    const again = await bringUp(steps(new StepDriver()), {
      exercise,
      owner: { attemptId: '', pool: 'slot' },
      attach: 'after-start',
      setup: async () => void (wanted = false),
      snapshot: async () => Buffer.from('tar'),
      wanted: () => wanted,
    });
    await expect(again.snapshot).rejects.toBeInstanceOf(BringUpAbandoned);
  });

  it('gives up between steps once the sandbox is no longer wanted, leaving its removal to the owner', async () => {
    const driver = new StepDriver();
    let wanted = true;
    let created: string | null = null;
    const setup = vi.fn(async () => {});
    const bringing = bringUp(steps(driver), {
      exercise,
      owner: { attemptId: '', pool: 'slot' },
      attach: 'after-start',
      onCreated: (id) => {
        created = id;
        wanted = false;
      },
      setup,
      wanted: () => wanted,
    });
    await expect(bringing).rejects.toBeInstanceOf(BringUpAbandoned);
    expect(created).toBe('fake1');
    expect(driver.steps).toEqual(['create']);
    expect(setup).not.toHaveBeenCalled();
  });
});

describe('deadline timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const attempt = (deadline: number | null): Attempt => ({ id: 'a_1', state: 'running', deadline }) as Attempt;

  it('expires at the deadline, follows an extension, and arms nothing once stopped', async () => {
    vi.useFakeTimers();
    let stored = attempt(Date.now() + 1000);
    const expired: string[] = [];
    const timers = new DeadlineTimers({
      load: async () => stored,
      expire: async (id) => void expired.push(id),
      log: silent,
    });
    timers.arm(stored);
    // Extended behind the timer's back: it fires, sees the new deadline and waits again.
    stored = attempt(Date.now() + 3000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(expired).toEqual(['a_1']);
    timers.stop();
    timers.arm(attempt(Date.now() + 10));
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['a_1']);
  });

  it('leaves an attempt alone once it is no longer running', async () => {
    vi.useFakeTimers();
    const expire = vi.fn(async () => {});
    const stored = attempt(Date.now() + 10);
    const timers = new DeadlineTimers({ load: async () => ({ ...stored, state: 'submitted' }), expire, log: silent });
    timers.arm(stored);
    await vi.advanceTimersByTimeAsync(50);
    expect(expire).not.toHaveBeenCalled();
  });
});

describe('attempt tokens', () => {
  it('keeps only a hash and compares in constant time', () => {
    const token = newAttemptToken();
    const tokenHash = hashToken(token);
    expect(tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenMatches({ tokenHash }, token)).toBe(true);
    expect(tokenMatches({ tokenHash }, `${token}x`)).toBe(false);
    expect(newAttemptId()).toMatch(/^a_[0-9a-f]{20}$/);
  });
});

describe('warm pool eviction and retries', () => {
  const entry = (slot: string, exerciseId: string, state: Entry['state'], readyAt: number | null = null): Entry => ({
    slot,
    exerciseId,
    state,
    seed: '',
    params: {},
    sandboxId: null,
    session: null,
    stopDraining: null,
    snapshot: null,
    readyAt,
  });

  it('gives up a queued sandbox first, then the oldest ready one of the exercise with the most', () => {
    const ready = [entry('r1', 'x', 'ready', 2), entry('r2', 'y', 'ready', 1), entry('r3', 'y', 'ready', 3)];
    expect(evictionVictim([...ready, entry('q', 'x', 'queued')])?.slot).toBe('q');
    expect(evictionVictim([entry('p', 'x', 'preparing'), ...ready])?.slot).toBe('r2');
    expect(evictionVictim([entry('c', 'x', 'claimed'), entry('p', 'x', 'preparing')])?.slot).toBe('p');
    expect(evictionVictim([entry('c', 'x', 'claimed'), entry('l', 'x', 'leaving')])).toBeNull();
  });

  it('doubles the wait per failure up to the cap', () => {
    const backoff = new RetryBackoff(() => {});
    const now = Date.now();
    expect(backoff.failed('x')).toBe(RETRY_BASE_MS);
    expect(backoff.failed('x')).toBe(2 * RETRY_BASE_MS);
    expect(backoff.waiting('x', now)).toBe(true);
    expect(backoff.waiting('y', now)).toBe(false);
    for (let i = 0; i < 20; i++) backoff.failed('x');
    expect(backoff.failed('x')).toBe(RETRY_MAX_MS);
    backoff.succeeded('x');
    expect(backoff.failed('x')).toBe(RETRY_BASE_MS);
    backoff.stop();
  });
});
