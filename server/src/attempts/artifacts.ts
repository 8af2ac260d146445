import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../sandbox/notices.js';
import type { Attempt } from '../store/attempts-repo.js';
import { AsciicastRecorder } from '../terminal/recorder.js';
import type { SnapshotDiff } from './exercise-runner.js';

type Snapshot = 'initial' | 'final';

/**
 * What an attempt keeps on disk under the data directory: its recording (recordings/<id>.cast), and the snapshots
 * of the exercise's files at the start and at the end with what changed between them (snapshots/<id>/).
 */
export class AttemptArtifacts {
  constructor(private readonly deps: { config: Pick<Config, 'dataDir' | 'recordingMaxBytes'>; log: Logger }) {}

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
    fs.writeFileSync(file, tar);
  }

  /** The stored snapshot's file, or null when there is none. */
  snapshotPath(attemptId: string, which: Snapshot): string | null {
    const file = this.snapshotFile(attemptId, `${which}.tar`);
    return fs.existsSync(file) ? file : null;
  }

  loadSnapshot(attemptId: string, which: Snapshot): Buffer | null {
    try {
      return fs.readFileSync(this.snapshotFile(attemptId, `${which}.tar`));
    } catch {
      return null;
    }
  }

  saveDiff(attemptId: string, diff: SnapshotDiff): void {
    fs.writeFileSync(this.snapshotFile(attemptId, 'diff.json'), JSON.stringify(diff));
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
    fs.rmSync(this.recordingFile(attempt), { force: true });
    fs.rmSync(this.snapshotsDir(attempt.id), { recursive: true, force: true });
  }

  private snapshotsDir(attemptId: string): string {
    return path.join(this.deps.config.dataDir, 'snapshots', attemptId);
  }

  private snapshotFile(attemptId: string, name: string): string {
    return path.join(this.snapshotsDir(attemptId), name);
  }
}
