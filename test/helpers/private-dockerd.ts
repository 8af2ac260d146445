// A Docker engine of a test's own: its own dockerd (and the containerd it manages) on its own socket, data root
// and exec root, with live-restore on. Tests may stop and restart it; they never touch the engine the other tests
// use. Needs root and the dockerd binary.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import { docker as mainDocker } from './docker.js';

/** Why a private dockerd cannot run here, or null when it can. */
export function privateDockerdUnavailable(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  if (spawnSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' }).status !== 0) return 'no dockerd binary';
  if (spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' }).status !== 0) return 'no network namespaces (unshare --net)';
  return null;
}

export class PrivateDockerd {
  readonly dir: string;
  readonly socket: string;
  readonly docker: Docker;
  child: ChildProcess | null = null;
  log = '';
  private readonly config: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.socket = path.join(dir, 'run', 'docker.sock');
    this.config = path.join(dir, 'daemon.json');
    this.docker = new Docker({ socketPath: this.socket });
  }

  /**
   * Starts one with live-restore, the main engine's extra runtimes (e.g. runsc, so the suite's second pass runs
   * here too), no bridge and no iptables rules (sandboxes have no network).
   */
  static async start(): Promise<PrivateDockerd> {
    // Short: containerd's socket path (under the exec root) must fit in a unix socket address.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'odk-'));
    for (const d of ['data', 'exec', 'run']) fs.mkdirSync(path.join(dir, d));
    const runtimes = Object.fromEntries(
      Object.entries(((await mainDocker.info()) as { Runtimes?: Record<string, { path: string; runtimeArgs?: string[] }> }).Runtimes ?? {})
        .filter(([name, r]) => name !== 'runc' && r.path.startsWith('/'))
        .map(([name, r]) => [name, { path: r.path, ...(r.runtimeArgs ? { runtimeArgs: r.runtimeArgs } : {}) }]),
    );
    const d = new PrivateDockerd(dir);
    fs.writeFileSync(d.config, JSON.stringify({ 'live-restore': true, runtimes }));
    await d.up();
    return d;
  }

  /**
   * Starts this dockerd (again) and waits until it answers. It runs in a network namespace of its own (unshare):
   * a dockerd changes the host's network as it starts (with --bridge none it deletes the interface docker0,
   * which belongs to the main engine), and its sandboxes have no network anyway. Its socket is a file, reachable
   * from any namespace.
   */
  async up(): Promise<void> {
    const child = spawn(
      'unshare',
      [
        '--net',
        '--',
        'dockerd',
        '--config-file', this.config,
        '--data-root', path.join(this.dir, 'data'),
        '--exec-root', path.join(this.dir, 'exec'),
        '--pidfile', path.join(this.dir, 'run', 'docker.pid'),
        '-H', `unix://${this.socket}`,
        '--bridge', 'none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}:\n${this.log.slice(-2000)}`);
      try {
        await this.docker.ping();
        return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error(`dockerd did not answer in 60 s:\n${this.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops this dockerd (SIGTERM, as a service manager does); with live-restore its containers keep running. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
  }

  /** Copies an image of the main engine into this one. */
  async loadImage(ref: string): Promise<void> {
    const tar = await mainDocker.getImage(ref).get();
    const stream = await this.docker.loadImage(tar as unknown as NodeJS.ReadableStream);
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  }

  /** Removes every container, stops the daemon and deletes its directories. */
  async destroy(): Promise<void> {
    // Containers outlive a stopped daemon (live-restore): bring it back to remove them.
    if (!this.child) await this.up().catch(() => undefined);
    if (this.child) {
      const list = await this.docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
      await this.down();
    }
    // dockerd mounts its data root on itself; the mount outlives it.
    try {
      execFileSync('umount', ['-l', path.join(this.dir, 'data')], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
