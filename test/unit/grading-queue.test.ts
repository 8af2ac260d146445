import { describe, expect, it } from 'vitest';
import { GradingQueue, GradingQueueFull, gradingContainers, type GradingKind, type GradingPosition } from '../../server/src/grading/queue.js';

/** A piece of work the test ends when it wants. */
function gate() {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('grading queue', () => {
  it('counts a grading as its grader and every clean room, which run side by side', () => {
    expect(gradingContainers({ cleanroom: [] })).toBe(1);
    expect(gradingContainers({ cleanroom: ['pipeline'] })).toBe(2);
    expect(gradingContainers({ cleanroom: ['slo', 'alerts'] })).toBe(3);
  });

  it('never runs more than its concurrency, and runs everything in the end', async () => {
    const q = new GradingQueue({ concurrency: 2, maxQueued: 100 });
    let running = 0;
    let most = 0;
    const jobs = Array.from({ length: 12 }, (_, i) =>
      q.run({ kind: 'checks', attemptId: `a${i}`, containers: 2 }, async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 2 + (i % 3)));
        running--;
        return i;
      }),
    );
    expect(q.stats()).toMatchObject({ running: 2, containers: 4, queued: 10 });
    expect(await Promise.all(jobs)).toEqual([...Array(12).keys()]);
    expect(most).toBe(2);
    expect(q.stats()).toMatchObject({ running: 0, queued: 0, oldestWaitMs: 0, peakRunning: 2 });
    await q.idle();
  });

  it('runs finals first, then regrades, then check runs, each in arrival order', async () => {
    const q = new GradingQueue({ concurrency: 1, maxQueued: 100 });
    const first = gate();
    const order: string[] = [];
    const job = (kind: GradingKind, id: string) => q.run({ kind, attemptId: id, containers: 1 }, async () => void order.push(id));
    const blocker = q.run({ kind: 'checks', attemptId: 'blocker', containers: 1 }, () => first.done);
    const all = [job('checks', 'p1'), job('regrade', 'r1'), job('final', 'f1'), job('checks', 'p2'), job('final', 'f2'), job('regrade', 'r2')];
    expect(q.stats().queuedByKind).toEqual({ final: 2, regrade: 2, checks: 2 });
    first.open();
    await Promise.all([blocker, ...all]);
    expect(order).toEqual(['f1', 'f2', 'r1', 'r2', 'p1', 'p2']);
  });

  it('refuses check runs past maxQueued waiting, never a final or a regrade', async () => {
    const q = new GradingQueue({ concurrency: 1, maxQueued: 2 });
    const g = gate();
    const running = q.run({ kind: 'checks', attemptId: 'r', containers: 1 }, () => g.done);
    const waiting = [1, 2].map((i) => q.run({ kind: 'checks', attemptId: `w${i}`, containers: 1 }, async () => i));
    await expect(q.run({ kind: 'checks', attemptId: 'x', containers: 1 }, async () => 0)).rejects.toBeInstanceOf(GradingQueueFull);
    expect(q.stats().queued).toBe(2);
    const finals = Array.from({ length: 5 }, (_, i) => q.run({ kind: 'final', attemptId: `f${i}`, containers: 1 }, async () => i));
    const regrade = q.run({ kind: 'regrade', attemptId: 'rg', containers: 1 }, async () => 'rg');
    expect(q.stats().queued).toBe(8);
    g.open();
    await Promise.all([running, ...waiting, ...finals, regrade]);
  });

  it('tells a waiting grading how many are ahead of it, and when it runs', async () => {
    const q = new GradingQueue({ concurrency: 1, maxQueued: 10 });
    const g = gate();
    const seen: GradingPosition[] = [];
    const blocker = q.run({ kind: 'checks', attemptId: 'b', containers: 1 }, () => g.done);
    const other = q.run({ kind: 'checks', attemptId: 'o', containers: 1 }, async () => undefined);
    const mine = q.run({ kind: 'checks', attemptId: 'me', containers: 1, onPosition: (p) => seen.push(p) }, async () => undefined);
    expect(q.position('me')).toEqual({ state: 'queued', ahead: 2 });
    expect(q.position('b')).toEqual({ state: 'running' });
    expect(q.position('nobody')).toBeNull();
    // A final grading arriving later goes ahead of it.
    const fin = q.run({ kind: 'final', attemptId: 'f', containers: 1 }, async () => undefined);
    expect(q.position('me')).toEqual({ state: 'queued', ahead: 3 });
    g.open();
    await Promise.all([blocker, other, mine, fin]);
    expect(seen[0]).toEqual({ state: 'queued', ahead: 2 });
    expect(seen).toContainEqual({ state: 'queued', ahead: 3 });
    expect(seen.at(-1)).toEqual({ state: 'running' });
    expect(q.position('me')).toBeNull();
  });

  it('reports the oldest wait', async () => {
    let now = 1000;
    const q = new GradingQueue({ concurrency: 1, maxQueued: 10, now: () => now });
    const g = gate();
    const a = q.run({ kind: 'final', attemptId: 'a', containers: 1 }, () => g.done);
    const b = q.run({ kind: 'checks', attemptId: 'b', containers: 1 }, async () => undefined);
    now = 1000 + 4500;
    expect(q.stats()).toMatchObject({ running: 1, queued: 1, oldestWaitMs: 4500 });
    g.open();
    await Promise.all([a, b]);
  });

  it('a failing grading frees its place and rejects its caller only', async () => {
    const q = new GradingQueue({ concurrency: 1, maxQueued: 10 });
    const bad = q.run({ kind: 'checks', attemptId: 'x', containers: 1 }, async () => {
      throw new Error('grader broke');
    });
    const sync = q.run({ kind: 'checks', attemptId: 'y', containers: 1 }, () => {
      throw new Error('threw at once');
    });
    const good = q.run({ kind: 'checks', attemptId: 'z', containers: 1 }, async () => 'ok');
    await expect(bad).rejects.toThrow('grader broke');
    await expect(sync).rejects.toThrow('threw at once');
    expect(await good).toBe('ok');
    expect(q.stats().running).toBe(0);
  });

  it('holds check runs and regrades back while the machine has no room, never a final', async () => {
    let room = false;
    const q = new GradingQueue({ concurrency: 4, maxQueued: 10, hasRoom: () => room, retryMs: 5 });
    const ran: string[] = [];
    const p = q.run({ kind: 'checks', attemptId: 'p', containers: 2 }, async () => void ran.push('p'));
    const f = q.run({ kind: 'final', attemptId: 'f', containers: 2 }, async () => void ran.push('f'));
    await f;
    await tick();
    expect(ran).toEqual(['f']);
    expect(q.stats().queued).toBe(1);
    room = true;
    await p;
    expect(ran).toEqual(['f', 'p']);
  });

  it('refuses a concurrency below one', () => {
    expect(() => new GradingQueue({ concurrency: 0, maxQueued: 1 })).toThrow(/at least 1/);
  });
});
