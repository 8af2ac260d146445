import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type {
  ExecResult,
  JobDriver,
  JobExecResult,
  PathStat,
  SandboxInfo,
  SandboxChange,
  SandboxProcess,
  SandboxSpec,
} from '../../server/src/sandbox/sandbox-driver.js';
import type { TerminalSession } from '../../server/src/terminal/terminal-session.js';
import type { ExerciseRunner, GradeOutcome, SnapshotDiff } from '../../server/src/attempts/exercise-runner.js';

/** An in-memory terminal: echoes what is written, and lets a test print output and end the shell. */
export class FakeSession implements TerminalSession {
  readonly ended: Promise<void>;
  paused = false;
  closed = false;
  written: string[] = [];
  lastSize: [number, number] | null = null;
  private listeners = new Set<(chunk: Buffer) => void>();
  private end!: () => void;

  constructor() {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  write(data: Buffer | string): void {
    this.written.push(data.toString());
    this.print(data.toString());
  }

  async resize(cols: number, rows: number): Promise<void> {
    this.lastSize = [cols, rows];
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  close(): void {
    this.closed = true;
  }

  print(text: string | Buffer): void {
    const chunk = Buffer.isBuffer(text) ? text : Buffer.from(text);
    for (const l of this.listeners) l(chunk);
  }

  exit(): void {
    this.end();
  }
}

interface FakeSandbox {
  info: SandboxInfo;
  spec: SandboxSpec;
}

/** A SandboxDriver for lifecycle logic tests; the real engine is covered by the integration tests. */
export class FakeDriver implements JobDriver {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly sessions: FakeSession[] = [];
  failCreate: Error | null = null;
  private next = 1;

  async ping(): Promise<boolean> {
    return true;
  }

  async create(spec: SandboxSpec): Promise<string> {
    if (this.failCreate) throw this.failCreate;
    const id = `fake${this.next++}`;
    this.sandboxes.set(id, {
      spec,
      info: {
        id,
        attemptId: spec.attemptId,
        exerciseId: spec.exerciseId,
        runState: 'created',
        exitCode: null,
        oomKilled: false,
        labels: {},
      },
    });
    return id;
  }

  async start(id: string): Promise<void> {
    const s = this.must(id);
    s.info.runState = 'running';
  }

  async attachTerminal(id: string): Promise<TerminalSession> {
    this.must(id);
    const session = new FakeSession();
    this.sessions.push(session);
    return session;
  }

  /** The further shells exec'd, in order (sandbox id and terminal name). */
  readonly execTerminals: { id: string; name: string }[] = [];

  async execTerminal(id: string, opts: { name: string; cols: number; rows: number }): Promise<TerminalSession> {
    this.must(id);
    this.execTerminals.push({ id, name: opts.name });
    const session = new FakeSession();
    this.sessions.push(session);
    return session;
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  /** Paths a test says exist in a sandbox (by sandbox id, then path); every other path is absent. */
  readonly paths = new Map<string, Map<string, PathStat>>();

  async statPath(id: string, path: string): Promise<PathStat | null> {
    this.must(id);
    return this.paths.get(id)?.get(path) ?? null;
  }

  async makeDirs(id: string, path: string): Promise<void> {
    this.must(id);
    const mine = this.paths.get(id) ?? new Map<string, PathStat>();
    this.paths.set(id, mine);
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      if (!mine.has(p)) mine.set(p, { type: 'directory', mode: 0o755, size: 0, linkTarget: null });
    }
  }

  async copyIn(): Promise<void> {}

  async copyOut(): Promise<Readable> {
    return Readable.from([]);
  }

  async inspect(id: string): Promise<SandboxInfo | null> {
    return this.sandboxes.get(id)?.info ?? null;
  }

  async stop(id: string): Promise<void> {
    const s = this.sandboxes.get(id);
    if (s) s.info.runState = 'exited';
  }

  async remove(id: string): Promise<void> {
    this.sandboxes.delete(id);
    const job = this.jobs.findIndex((j) => j.id === id);
    if (job >= 0) this.jobs.splice(job, 1);
  }

  async listManaged(): Promise<SandboxInfo[]> {
    return [...this.sandboxes.values()].map((s) => s.info);
  }

  readonly jobs: { id: string; role: string; ageSeconds: number }[] = [];

  async createJob(): Promise<string> {
    throw new Error('the fake driver runs no jobs: grading is covered on the real engine');
  }

  async execJob(): Promise<JobExecResult> {
    throw new Error('the fake driver runs no jobs: grading is covered on the real engine');
  }

  async listJobs(): Promise<{ id: string; role: string; ageSeconds: number }[]> {
    return this.jobs;
  }

  async changes(): Promise<{ changes: SandboxChange[]; truncated: boolean }> {
    throw new Error('the fake driver runs no jobs: grading is covered on the real engine');
  }

  async processes(): Promise<SandboxProcess[]> {
    throw new Error('the fake driver runs no jobs: grading is covered on the real engine');
  }

  /** A container that exists in the engine but that no attempt knows (a crash leftover). */
  addOrphan(attemptId: string | null): string {
    const id = `orphan${this.next++}`;
    this.sandboxes.set(id, {
      spec: { attemptId: attemptId ?? '', exerciseId: 'x', image: 'x', limits: { memoryMb: 1, cpus: 1, pids: 1 } },
      info: { id, attemptId, exerciseId: 'x', runState: 'running', exitCode: null, oomKilled: false, labels: {} },
    });
    return id;
  }

  private must(id: string): FakeSandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    return s;
  }
}

/** An ExerciseRunner for lifecycle tests: records what it was asked and returns a fixed grade. */
export class FakeRunner implements ExerciseRunner {
  provisioned: string[] = [];
  booted: string[] = [];
  graded: string[] = [];
  outcome: GradeOutcome = {
    startedAt: 0,
    finishedAt: 0,
    score: 5,
    maxScore: 10,
    results: [
      { id: 'a', title: 'Check A', points: 5, advisory: false, visible: true, verdict: 'pass', message: 'ok', details: 'a-details', durationMs: 1 },
      { id: 'b', title: 'Check B', points: 5, advisory: false, visible: false, verdict: 'fail', message: 'secret hint', details: 'b-details', durationMs: 1 },
    ],
    cleanroom: [],
  };
  failGrade: Error | null = null;

  async provision(sandboxId: string): Promise<void> {
    this.provisioned.push(sandboxId);
  }
  async boot(sandboxId: string): Promise<void> {
    this.booted.push(sandboxId);
  }
  /** What each grading read: the sandbox id, or `snapshot:<file>` for a grading of a stored snapshot. */
  async grade(sandboxId: string | null, _exercise?: unknown, _variant?: unknown, _attemptId?: string, snapshotFile?: string): Promise<GradeOutcome> {
    this.graded.push(snapshotFile ? `snapshot:${snapshotFile}` : (sandboxId ?? 'none'));
    if (this.failGrade) throw this.failGrade;
    return { ...this.outcome, startedAt: Date.now(), finishedAt: Date.now() };
  }
  async snapshot(sandboxId: string): Promise<Buffer> {
    return Buffer.from(`snapshot of ${sandboxId} at ${this.graded.length}`);
  }
  async snapshotToFile(sandboxId: string, _paths: string[], file: string): Promise<{ bytes: number; cut: boolean }> {
    const tar = await this.snapshot(sandboxId);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, tar);
    return { bytes: tar.length, cut: false };
  }
  async diff(beforeFile: string, afterFile: string): Promise<SnapshotDiff> {
    const [before, after] = [beforeFile, afterFile].map((f) => fs.readFileSync(f, 'utf8'));
    return { changed: [{ path: '/root/work/x', change: 'modified' }], diff: `${before}\n${after}` };
  }
}
