// The disk quota's grace after a stop, against a driver whose writer goes on between the sample and the stop (as
// under a slow engine): the restarted sandbox is measured against what it held once stopped, not the sample.
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskWatch, DISK_QUOTA_EVENT } from '../../server/src/sandbox/disk-watch.js';
import type { SandboxDriver } from '../../server/src/sandbox/sandbox-driver.js';
import { AttemptsRepo } from '../../server/src/store/attempts-repo.js';
import { openDatabase, type Db } from '../../server/src/store/db.js';
import { sqliteSql } from '../../server/src/store/sqlite-sql.js';
import { tempDataDir } from '../helpers/server.js';
import { attempt } from '../helpers/store-fixtures.js';

const MiB = 1024 * 1024;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** One sandbox whose size and state the test scripts; a stop lets the writer add `writtenDuringStop` first. */
class ScriptedDisk {
  bytes = 0;
  running = true;
  writtenDuringStop = 0;
  stops = 0;
  readonly driver = {
    diskUsage: async () => ({ bytes: this.bytes, running: this.running }),
    exec: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
    stop: async () => {
      this.bytes += this.writtenDuringStop;
      this.running = false;
      this.stops++;
    },
  } as unknown as SandboxDriver;
}

describe('disk quota watch', () => {
  let dataDir: string;
  let db: Db;
  let repo: AttemptsRepo;

  beforeEach(async () => {
    dataDir = tempDataDir();
    db = openDatabase(dataDir);
    repo = new AttemptsRepo(sqliteSql(db));
    await repo.insert(
      attempt('a_1', { state: 'running', startedAt: 1, deadline: Date.now() + 600_000, sandboxId: 'sb_1', sandboxStatus: 'running' }),
    );
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const watch = (disk: ScriptedDisk, owns = true) =>
    new DiskWatch({
      driver: disk.driver,
      repo,
      attempts: { owns: () => owns, notify: async () => undefined },
      quotaBytes: 256 * MiB,
      intervalMs: 60_000,
      graceMs: 60_000,
      log: silent,
    });

  it('gives a restarted sandbox its grace even when the writer went on past the sampled size before the stop', async () => {
    const disk = new ScriptedDisk();
    const w = watch(disk);
    disk.bytes = 397 * MiB;
    disk.writtenDuringStop = 68 * MiB;
    expect((await w.sweep()).stopped).toEqual(['a_1']);
    // The candidate restarts the shell: 465 MB, over the quota, within the grace and not above what it held once stopped.
    disk.running = true;
    expect((await w.sweep()).stopped).toEqual([]);
    // Writing more than that is stopped at once.
    disk.bytes += MiB;
    expect((await w.sweep()).stopped).toEqual(['a_1']);
    expect(disk.stops).toBe(2);
    expect((await repo.events('a_1')).filter((e) => e.kind === DISK_QUOTA_EVENT)).toHaveLength(2);
  });

  it('leaves the attempts of other replicas to their owners', async () => {
    const disk = new ScriptedDisk();
    disk.bytes = 400 * MiB;
    expect((await watch(disk, false).sweep())).toMatchObject({ sampled: 0, stopped: [] });
    expect(disk.stops).toBe(0);
  });
});
