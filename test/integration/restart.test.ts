import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { repoRoot } from '../../server/src/paths.js';
import { docker, requireDocker } from '../helpers/docker.js';
import { tempDataDir } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';


function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The real server process (`main.ts serve`), as `npm start` runs it. */
class ServerProcess {
  child: ChildProcess | null = null;
  log = '';
  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot(), 'server/src/main.ts'), 'serve'], {
      cwd: repoRoot(),
      env: {
        ...process.env,
        OPSLAB_HOST: '127.0.0.1',
        OPSLAB_PORT: String(this.port),
        OPSLAB_DATA_DIR: this.dataDir,
        OPSLAB_LOG_LEVEL: 'warn',
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
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}

describe('server restarts (real server process, real engine)', () => {
  let server: ServerProcess;
  const attempts: string[] = [];

  beforeAll(async () => {
    await requireDocker();
    server = new ServerProcess(await freePort(), tempDataDir());
    await server.start();
  });

  afterAll(async () => {
    await server?.stop('SIGKILL');
    for (const id of attempts) {
      const list = await docker.listContainers({ all: true, filters: { label: [`opslab.attempt=${id}`] } });
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    }
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it.each([
    ['a graceful restart (SIGTERM)', 'SIGTERM' as const],
    ['a crash (SIGKILL)', 'SIGKILL' as const],
  ])('after %s the same shell is adopted with its state and screen', async (_label, signal) => {
    const { attempt, token } = await startAttempt(server.url);
    attempts.push(attempt.id);
    const before = await TestTerminal.connect(server.url, attempt.id, token);
    before.type('export OPSLAB_MARK=kept-$((40+2)); cd /tmp; echo screen-$((1+1))-before\r');
    await before.waitFor('screen-2-before');
    // Let the recorder's periodic flush run: a crash loses at most about a quarter of a second.
    await new Promise((r) => setTimeout(r, 600));

    const code = await server.stop(signal);
    if (signal === 'SIGTERM') {
      expect(code).toBe(0);
      expect((await before.closed).code).toBe(1012);
    } else {
      await before.closed;
    }
    await server.start();

    const after = await TestTerminal.connect(server.url, attempt.id, token);
    await after.waitFor(() => after.repaint !== null);
    expect(stripAnsi(after.repaint!)).toContain('screen-2-before');
    after.type('echo "$OPSLAB_MARK in $(pwd)"\r');
    await after.waitFor('kept-42 in /tmp');
    const view = (await api(server.url, 'GET', `/api/attempts/${attempt.id}`, token)).body.attempt;
    expect(view).toMatchObject({ state: 'running', sandbox: 'running', deadline: attempt.deadline });

    const recording = await api(server.url, 'GET', `/api/attempts/${attempt.id}/recording`, token);
    const cast = parseAsciicast(recording.text);
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(markers).toEqual(expect.arrayContaining(['started', 'adopted']));
    const output = cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toContain('screen-2-before');
    after.close();
    const submitted = await api(server.url, 'POST', `/api/attempts/${attempt.id}/submit`, token);
    expect(submitted.body.attempt).toMatchObject({ state: 'archived', endReason: 'submitted' });
  });
});
