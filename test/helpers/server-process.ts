// The real server as a child process (`main.ts serve`, as `npm start` runs it), for tests that kill it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { repoRoot } from '../../server/src/paths.js';
import { docker } from './docker.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export class ServerProcess {
  child: ChildProcess | null = null;
  log = '';

  constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server and resolves once /api/health answers 200 (the boot reconcile is done by then). */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot(), 'server/src/main.ts'), 'serve'], {
      cwd: repoRoot(),
      env: {
        ...process.env,
        OPSLAB_HOST: '127.0.0.1',
        OPSLAB_PORT: String(this.port),
        OPSLAB_DATA_DIR: this.dataDir,
        OPSLAB_LOG_LEVEL: 'warn',
        // Every test starts from the same client: no per-client start limits unless a test sets them.
        OPSLAB_PRACTICE_STARTS_PER_MINUTE: '0',
        OPSLAB_PRACTICE_STARTS_PER_HOUR: '0',
        OPSLAB_PRACTICE_NEW_TRAINEES_PER_HOUR: '0',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${this.log}`);
      try {
        if ((await fetch(`${this.url}/api/health`)).status === 200) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`server did not answer in 60 s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** Reads the server's database (read-only; the server may be running). */
  query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(path.join(this.dataDir, 'opslab.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  /** The installation id its sandboxes carry (label opslab.instance). */
  instance(): string {
    return this.query<{ value: string }>("SELECT value FROM meta WHERE key = 'instance_id'")[0]!.value;
  }

  /** Removes every container of this installation and the data directory. */
  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    let instance: string | null = null;
    try {
      instance = this.instance();
    } catch {
      /* no database yet */
    }
    if (instance) {
      const list = await docker.listContainers({ all: true, filters: { label: [`opslab.instance=${instance}`] } });
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
