import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import { ACTIVE_STATES, type Attempt, type AttemptsRepo } from '../store/attempts-repo.js';
import { AsciicastRecorder } from '../terminal/recorder.js';
import { DataBudget } from './data-budget.js';
import { TERMINAL_IDS } from '../../../contract/terminal.js';
import { terminalRecordingFile } from '../terminal/terminal-files.js';
import type { SnapshotDiff } from './exercise-runner.js';

type Snapshot = 'initial' | 'final';

/**
 * What an attempt keeps on disk under the data directory: its recording (recordings/<id>.cast), and the snapshots
 * of the exercise's files at the start and at the end with what changed between them (snapshots/<id>/). What they
 * hold in all is counted against the data directory's budget (data-budget.ts).
 */
export class AttemptArtifacts {
  readonly budget: DataBudget;

  constructor(
    private readonly deps: {
      config: Pick<Config, 'dataDir' | 'recordingMaxBytes' | 'dataBudget'>;
      log: Logger;
      repo: Pick<AttemptsRepo, 'listInStates'>;
    },
  ) {
    this.budget = new DataBudget({
      dataDir: deps.config.dataDir,
      budget: deps.config.dataBudget,
      liveRecordings: async () =>
        (await deps.repo.listInStates(ACTIVE_STATES)).flatMap((a) => TERMINAL_IDS.map((n) => terminalRecordingFile(this.recordingFile(a), n))),
    });
  }

  /** Where a new attempt's recording goes. */
  recordingPath(attemptId: string): string {
    return path.join(this.deps.config.dataDir, 'recordings', `${attemptId}.cast`);
  }

  recordingFile(attempt: Attempt): string {
    return attempt.recordingPath ?? this.recordingPath(attempt.id);
  }

  /** Appends a marker to the recording of an attempt that has no live terminal. */
  appendMarker(attempt: Attempt, label: string): void {
    try {
      const recorder = new AsciicastRecorder({
        file: this.recordingFile(attempt),
        cols: 80,
        rows: 24,
        startedAt: attempt.startedAt ?? attempt.createdAt,
        maxBytes: this.deps.config.recordingMaxBytes,
      });
      recorder.marker(label);
      recorder.close();
    } catch (err) {
      this.deps.log.warn({ attemptId: attempt.id, err: (err as Error).message }, 'could not append marker');
    }
  }

  saveSnapshot(attemptId: string, which: Snapshot, tar: Buffer): void {
    const file = this.snapshotFile(attemptId, `${which}.tar`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.budget.track(file, () => fs.writeFileSync(file, tar));
  }

  /**
   * Writes a snapshot through `write` (which streams it to the path it is given), and counts it. Resolves to
   * what `write` resolved to.
   */
  async writeSnapshot<T>(attemptId: string, which: Snapshot, write: (file: string) => Promise<T>): Promise<T> {
    const file = this.snapshotFile(attemptId, `${which}.tar`);
    const result = await write(file);
    this.budget.added(file);
    return result;
  }

  /** The stored snapshot's file, or null when there is none. */
  snapshotPath(attemptId: string, which: Snapshot): string | null {
    const file = this.snapshotFile(attemptId, `${which}.tar`);
    return fs.existsSync(file) ? file : null;
  }

  saveDiff(attemptId: string, diff: SnapshotDiff): void {
    const file = this.snapshotFile(attemptId, 'diff.json');
    this.budget.track(file, () => fs.writeFileSync(file, JSON.stringify(diff)));
  }

  snapshotDiff(attemptId: string): SnapshotDiff | null {
    try {
      return JSON.parse(fs.readFileSync(this.snapshotFile(attemptId, 'diff.json'), 'utf8')) as SnapshotDiff;
    } catch {
      return null;
    }
  }

  /** Deletes the attempt's recording and snapshots. */
  remove(attempt: Attempt): void {
    for (const n of TERMINAL_IDS) this.budget.remove(terminalRecordingFile(this.recordingFile(attempt), n));
    this.budget.remove(this.snapshotsDir(attempt.id));
  }

  private snapshotsDir(attemptId: string): string {
    return path.join(this.deps.config.dataDir, 'snapshots', attemptId);
  }

  private snapshotFile(attemptId: string, name: string): string {
    return path.join(this.snapshotsDir(attemptId), name);
  }
}
