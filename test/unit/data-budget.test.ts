import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBudget } from '../../server/src/attempts/data-budget.js';
import type { OpslabError } from '../../server/src/errors.js';

const MiB = 1024 * 1024;

describe('data directory budget', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const setup = () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-budget-'));
    dirs.push(dataDir);
    fs.mkdirSync(path.join(dataDir, 'recordings'));
    fs.mkdirSync(path.join(dataDir, 'snapshots', 'a_1'), { recursive: true });
    return dataDir;
  };
  const refusal = async (fn: () => Promise<void>) => {
    try {
      await fn();
      return null;
    } catch (err) {
      return err as OpslabError;
    }
  };

  it('counts what is on disk at start-up, then keeps a running total of writes, growth and deletions', async () => {
    const dataDir = setup();
    fs.writeFileSync(path.join(dataDir, 'recordings', 'a_1.cast'), Buffer.alloc(3 * MiB));
    fs.writeFileSync(path.join(dataDir, 'snapshots', 'a_1', 'final.tar'), Buffer.alloc(2 * MiB));
    const live: string[] = [];
    let now = 0;
    const budget = new DataBudget({
      dataDir,
      budget: { maxBytes: 10 * MiB, interviewReserveBytes: 4 * MiB },
      liveRecordings: () => live,
      now: () => now,
    });
    expect((await budget.usage()).usedBytes).toBe(5 * MiB);

    const snap = path.join(dataDir, 'snapshots', 'a_2', 'initial.tar');
    fs.mkdirSync(path.dirname(snap));
    budget.track(snap, () => fs.writeFileSync(snap, Buffer.alloc(MiB)));
    expect((await budget.usage()).usedBytes).toBe(6 * MiB);

    // A running attempt's recording grows by itself: measured again after a while, not at every call.
    const cast = path.join(dataDir, 'recordings', 'a_2.cast');
    live.push(cast);
    fs.writeFileSync(cast, Buffer.alloc(MiB));
    expect((await budget.usage()).usedBytes).toBe(6 * MiB);
    now += 5000;
    expect((await budget.usage()).usedBytes).toBe(7 * MiB);
    // Past budget minus reserve: practice is refused, interviews are not.
    expect(await budget.usage()).toMatchObject({ practiceRefused: true, interviewsRefused: false });
    expect((await refusal(() => budget.assertRoom('practice')))?.statusCode).toBe(507);
    expect(await refusal(() => budget.assertRoom('interview'))).toBeNull();

    // The attempt ends after its recording grew some more: settled at its last size.
    fs.appendFileSync(cast, Buffer.alloc(3 * MiB));
    live.pop();
    now += 5000;
    expect(await budget.usage()).toMatchObject({ usedBytes: 10 * MiB, interviewsRefused: true });
    expect((await refusal(() => budget.assertRoom('interview')))?.message).toMatch(/storage is full/);

    // Deleting an attempt gives its bytes back.
    budget.remove(cast);
    budget.remove(path.join(dataDir, 'snapshots', 'a_1'));
    expect(await budget.usage()).toMatchObject({ usedBytes: 4 * MiB, practiceRefused: false });

    // A restart counts the same from the files.
    const again = new DataBudget({ dataDir, budget: { maxBytes: 10 * MiB, interviewReserveBytes: 4 * MiB }, liveRecordings: () => [] });
    expect((await again.usage()).usedBytes).toBe(4 * MiB);
  });

  it('refuses nothing without a budget', async () => {
    const dataDir = setup();
    fs.writeFileSync(path.join(dataDir, 'recordings', 'a_1.cast'), Buffer.alloc(MiB));
    const budget = new DataBudget({ dataDir, budget: { maxBytes: 0, interviewReserveBytes: 0 }, liveRecordings: () => [] });
    expect(await refusal(() => budget.assertRoom('practice'))).toBeNull();
    expect(await budget.usage()).toMatchObject({ usedBytes: MiB, practiceRefused: false, interviewsRefused: false });
  });
});
