// `npm run bench`: opslab's terminal path against raw Docker on the same image, measured in the same run with
// the two interleaved (A B A B …) so that machine drift affects both alike. Prints a table and writes
// bench/RESULTS.md. Nothing here passes or fails: the figures are for reading.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { WebSocket } from 'ws';
import { buildApp, sandboxImageRef } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { repoRoot } from '../server/src/paths.js';
import { CAPABILITY_ALLOWLIST, LOG_MAX_SIZE, effectiveLimits } from '../server/src/sandbox/policy.js';
import type { ResourceLimits } from '../server/src/sandbox/sandbox-driver.js';
import { startAttempt } from '../test/helpers/api.js';
import { fmt, median, ratio, summarize, type Summary } from './stats.js';

const count = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const N_START = count('BENCH_N_START', 15);
const N_ECHO = count('BENCH_N_ECHO', 300);
const N_ECHO_WARMUP = 30;
const N_FLOOD = count('BENCH_N_FLOOD', 5);
const FLOOD_MB = 64;

const EXERCISE = 'shell-warmup';
const IMAGE = sandboxImageRef('base');
/** On every container the bench makes (sandboxes and baselines); not the test label, which test runs sweep. */
const LABEL = 'opslab.bench';
/** Largest acknowledgement the browser sends at once (docs/api.md, "Flow control"). */
const ACK_BATCH = 32 * 1024;
const ACK_REST_MS = 10;
const TAIL = 4096;

const PROMPT = /root@sandbox[^#]*# $/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g;
const atPrompt = (text: string) => PROMPT.test(text.replace(ANSI, ''));

interface Waiter {
  what: string;
  seen: string;
  test: (text: string) => boolean;
  resolve: (at: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A terminal's output: counts bytes and wakes waiters with the arrival time of the chunk that satisfied them. */
class Output {
  bytes = 0;
  firstAt: number | null = null;
  private readonly decoder = new TextDecoder();
  private readonly waiters = new Set<Waiter>();

  push(chunk: Buffer): void {
    const at = performance.now();
    this.firstAt ??= at;
    this.bytes += chunk.length;
    const text = this.decoder.decode(chunk, { stream: true });
    for (const w of this.waiters) {
      w.seen = (w.seen + text).slice(-TAIL);
      if (!w.test(w.seen)) continue;
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(at);
    }
  }

  /** The stream is gone: every waiter fails now instead of at its timeout. */
  end(why: string): void {
    for (const w of this.waiters) this.fail(w, `${why} while waiting for ${w.what}`);
  }

  private fail(w: Waiter, why: string): void {
    this.waiters.delete(w);
    clearTimeout(w.timer);
    w.reject(new Error(`${why}; last output ${JSON.stringify(w.seen.slice(-200))}`));
  }

  /** Resolves with the `performance.now()` arrival time of the output after which `test` holds for what came since. */
  next(test: (text: string) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
    const promise = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(w, `no ${what} within ${timeoutMs} ms`), timeoutMs);
      const w: Waiter = { what, seen: '', test, resolve, reject, timer };
      this.waiters.add(w);
    });
    promise.catch(() => undefined); // awaited by the caller; never an unhandled rejection if the caller bailed out
    return promise;
  }
}

interface Shell {
  out: Output;
  write(data: string): void;
  close(): void;
}

// ---------------------------------------------------------------------------------------------------------------
// opslab side: a real server (in this process) on the real engine, driven over HTTP and its WebSocket protocol.

async function startServer() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-bench-'));
  const config = loadConfig(
    {
      OPSLAB_HOST: '127.0.0.1',
      OPSLAB_PORT: '0',
      OPSLAB_DATA_DIR: dataDir,
      OPSLAB_EXERCISES_DIR: path.join(repoRoot(), 'exercises'),
      OPSLAB_WEB_DIR: path.join(dataDir, 'no-web'),
      OPSLAB_LOG_LEVEL: 'warn',
    },
    repoRoot(),
  );
  const { app, services } = await buildApp({ config, sandboxLabels: { [LABEL]: 'true' } });
  await services.attempts.startBackground();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    limits: effectiveLimits(config.sandbox, services.catalog.get(EXERCISE)?.limits),
    async destroy() {
      const sandboxes = await services.driver.listManaged().catch(() => []);
      await app.close();
      await Promise.all(sandboxes.map((s) => services.driver.remove(s.id).catch(() => undefined)));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Connects to an attempt's terminal as a browser whose terminal renders at once. */
async function connectTerminal(url: string, attemptId: string, token: string, out: Output): Promise<Shell> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/attempts/${attemptId}/terminal`, {
    headers: { authorization: `Bearer ${token}` },
  });
  // Acknowledged in full 32 KiB batches as output arrives, the rest after a short pause: the fewest ack messages
  // the protocol allows. (Acking every frame trips the server's input rate limit during a flood; see RESULTS.md.)
  let unacked = 0;
  let timer: NodeJS.Timeout | null = null;
  const ack = (bytes: number) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes }));
  };
  const ackRest = () => {
    timer = null;
    if (unacked > 0) ack(unacked);
    unacked = 0;
  };
  ws.on('message', (data, isBinary) => {
    const buf = data as Buffer;
    if (!isBinary) {
      const msg = JSON.parse(buf.toString()) as { type: string; code?: string };
      if (msg.type === 'notice') console.warn(`[bench] server notice: ${msg.code}`);
      return;
    }
    out.push(buf);
    for (unacked += buf.length; unacked >= ACK_BATCH; unacked -= ACK_BATCH) ack(ACK_BATCH);
    if (unacked > 0) timer ??= setTimeout(ackRest, ACK_REST_MS);
  });
  ws.on('close', (code, reason) => {
    if (timer) clearTimeout(timer);
    out.end(`the WebSocket closed (${code} ${reason.toString()})`);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`terminal upgrade refused: HTTP ${res.statusCode}`)));
  });
  return { out, write: (data) => ws.send(Buffer.from(data), { binary: true }), close: () => ws.close() };
}

async function submit(url: string, attemptId: string, token: string): Promise<void> {
  const res = await fetch(`${url}/api/attempts/${attemptId}/submit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`submit failed: HTTP ${res.status} ${await res.text()}`);
}

interface OpslabAttempt {
  shell: Shell;
  end(): Promise<void>;
  /** From the POST to the prompt, split at the POST's answer and the WebSocket's upgrade. */
  ms: { post: number; open: number; first: number; prompt: number };
}

async function openAttempt(url: string): Promise<OpslabAttempt> {
  const out = new Output();
  const prompt = out.next(atPrompt, 'opslab prompt', 30_000);
  const t0 = performance.now();
  const { attempt, token } = await startAttempt(url, EXERCISE);
  const posted = performance.now();
  const shell = await connectTerminal(url, attempt.id, token, out);
  const opened = performance.now();
  const promptAt = await prompt;
  return {
    shell,
    ms: { post: posted - t0, open: opened - t0, first: out.firstAt! - t0, prompt: promptAt - t0 },
    async end() {
      await submit(url, attempt.id, token);
      shell.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Baseline side: dockerode straight on the engine, same image, same hardening flags as the Docker driver.

function hardenedContainer(limits: ResourceLimits): Docker.ContainerCreateOptions {
  const memory = limits.memoryMb * 1024 * 1024;
  return {
    Image: IMAGE, // CMD ["bash", "-l"]
    Hostname: 'sandbox',
    Tty: true,
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: ['TERM=xterm-256color', 'LANG=C.UTF-8'],
    Labels: { [LABEL]: 'true' },
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: [...CAPABILITY_ALLOWLIST],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': LOG_MAX_SIZE, 'max-file': '1' } },
      Init: true,
    },
  };
}

class Baseline {
  private readonly containers = new Set<Docker.Container>();

  constructor(
    private readonly docker: Docker,
    private readonly limits: ResourceLimits,
  ) {}

  /** create + attach + start until the prompt, on the container's own TTY (`bash -l`). */
  async attached(): Promise<{ shell: Shell; container: Docker.Container; ms: { first: number; prompt: number } }> {
    const out = new Output();
    const prompt = out.next(atPrompt, 'baseline prompt', 30_000);
    const t0 = performance.now();
    const container = await this.docker.createContainer(hardenedContainer(this.limits));
    this.containers.add(container);
    const options = { stream: true, stdin: true, stdout: true, stderr: true, hijack: true };
    const stream = (await container.attach(options)) as Duplex;
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.on('close', () => out.end('the attach stream closed'));
    await container.start();
    const promptAt = await prompt;
    return {
      container,
      ms: { first: out.firstAt! - t0, prompt: promptAt - t0 },
      shell: { out, write: (data) => stream.write(data), close: () => stream.destroy() },
    };
  }

  /** `docker exec -it <container> bash`. */
  async exec(container: Docker.Container): Promise<Shell> {
    const exec = await container.exec({
      Cmd: ['bash'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: ['TERM=xterm-256color'],
    });
    const out = new Output();
    const prompt = out.next(atPrompt, 'exec prompt', 30_000);
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.on('close', () => out.end('the exec stream closed'));
    await exec.resize({ h: 24, w: 80 }).catch(() => undefined);
    await prompt;
    return { out, write: (data) => stream.write(data), close: () => stream.destroy() };
  }

  async remove(container: Docker.Container): Promise<void> {
    this.containers.delete(container);
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }

  async removeAll(): Promise<void> {
    await Promise.all([...this.containers].map((c) => this.remove(c)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The measurements.

/** One keystroke: time until its echo arrives; then a backspace, waited for too, so the line stays empty. */
async function echo(shell: Shell, key: string): Promise<number> {
  const echoed = shell.out.next((text) => text.includes(key), `echo of ${key}`);
  const t0 = performance.now();
  shell.write(key);
  const at = await echoed;
  const erased = shell.out.next((text) => text.includes('\b'), 'echo of the backspace');
  shell.write('\x7f');
  await erased;
  return at - t0;
}

/**
 * Floods the terminal with `head -c <mb>M /dev/zero | base64`: MB/s (10^6 bytes) of terminal output received, and
 * the CPU this Node process (client, and for opslab the server too) used meanwhile, in % of one core.
 */
async function flood(shell: Shell, mb: number): Promise<{ rate: number; cpu: number }> {
  const done = shell.out.next((text) => text.includes('END-42'), 'end of the flood', 120_000);
  const prompt = shell.out.next(atPrompt, 'prompt after the flood', 120_000);
  const bytes0 = shell.out.bytes;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  shell.write(`head -c ${mb}M /dev/zero | base64; echo END-$((6*7))\r`);
  const at = await done;
  const cpu = process.cpuUsage(cpu0);
  await prompt;
  const seconds = (at - t0) / 1000;
  return { rate: (shell.out.bytes - bytes0) / 1e6 / seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds * 100 };
}

interface Row {
  what: string;
  unit: string;
  opslab: Summary;
  baseline: Summary;
}

async function measure(
  url: string,
  baseline: Baseline,
  log: (msg: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = [];
  const notes: string[] = [];

  // 1. Start → prompt. One unmeasured pair first (the engine and the server warm up).
  const start = { post: [] as number[], open: [] as number[], first: [] as number[], prompt: [] as number[] };
  const raw = { first: [] as number[], prompt: [] as number[] };
  for (let i = -1; i < N_START; i++) {
    const a = await openAttempt(url);
    await a.end();
    const b = await baseline.attached();
    b.shell.close();
    await baseline.remove(b.container);
    if (i < 0) continue;
    for (const k of ['post', 'open', 'first', 'prompt'] as const) start[k].push(a.ms[k]);
    raw.first.push(b.ms.first);
    raw.prompt.push(b.ms.prompt);
    log(`start ${i + 1}/${N_START}: opslab ${a.ms.prompt.toFixed(0)} ms, baseline ${b.ms.prompt.toFixed(0)} ms`);
  }
  rows.push(
    { what: 'Start → first output byte', unit: 'ms', opslab: summarize(start.first), baseline: summarize(raw.first) },
    { what: 'Start → prompt complete', unit: 'ms', opslab: summarize(start.prompt), baseline: summarize(raw.prompt) },
  );
  notes.push(
    `opslab start, medians: POST /api/attempts answered after ${fmt(summarize(start.post).p50)} ms, ` +
      `WebSocket open after ${fmt(summarize(start.open).p50)} ms, prompt after ${fmt(summarize(start.prompt).p50)} ms.`,
  );

  // 2. Keystroke echo, and 3. output throughput, in one attempt and one baseline container.
  const attempt = await openAttempt(url);
  const box = await baseline.attached();
  const exec = await baseline.exec(box.container);
  try {
    const keys = 'abcdefghijklmnopqrstuvwxyz';
    const echoes = { opslab: [] as number[], baseline: [] as number[], attach: [] as number[] };
    for (let i = -N_ECHO_WARMUP; i < N_ECHO; i++) {
      const key = keys[(i + N_ECHO_WARMUP) % keys.length]!;
      const a = await echo(attempt.shell, key);
      const b = await echo(exec, key);
      // Reference, not the baseline: the engine path opslab itself uses (attach to the container's TTY).
      const c = await echo(box.shell, key);
      if (i < 0) continue;
      echoes.opslab.push(a);
      echoes.baseline.push(b);
      echoes.attach.push(c);
    }
    log(`echo: ${N_ECHO} rounds done`);
    const opslabEcho = summarize(echoes.opslab);
    const attach = summarize(echoes.attach);
    rows.push({ what: 'Keystroke echo', unit: 'ms', opslab: opslabEcho, baseline: summarize(echoes.baseline) });
    notes.push(
      `Keystroke echo over a raw hijacked \`attach\` to a container's own TTY (the engine path opslab uses), measured ` +
        `in the same rounds: p50 ${fmt(attach.p50)} ms, p99 ${fmt(attach.p99)} ms; opslab/attach p50 ` +
        `${fmt(ratio(opslabEcho.p50, attach.p50), '×')}, p99 ${fmt(ratio(opslabEcho.p99, attach.p99), '×')}.`,
    );

    if (N_FLOOD > 0) {
      const rates = { opslab: [] as number[], baseline: [] as number[] };
      const cpu = { opslab: [] as number[], baseline: [] as number[] };
      for (let i = -1; i < N_FLOOD; i++) {
        const mb = i < 0 ? 8 : FLOOD_MB;
        const a = await flood(attempt.shell, mb);
        const b = await flood(box.shell, mb);
        if (i < 0) continue;
        rates.opslab.push(a.rate);
        rates.baseline.push(b.rate);
        cpu.opslab.push(a.cpu);
        cpu.baseline.push(b.cpu);
        log(`flood ${i + 1}/${N_FLOOD}: opslab ${a.rate.toFixed(1)} MB/s, baseline ${b.rate.toFixed(1)} MB/s`);
      }
      notes.push(
        `During the flood this Node process used, median, ${fmt(median(cpu.opslab))}% of one core for opslab ` +
          `(server and client) and ${fmt(median(cpu.baseline))}% for the baseline (client only).`,
      );
      rows.push({
        what: `Output throughput (${FLOOD_MB} MiB → base64)`,
        unit: 'MB/s',
        opslab: summarize(rates.opslab),
        baseline: summarize(rates.baseline),
      });
    }
  } finally {
    exec.close();
    box.shell.close();
    await baseline.remove(box.container);
    await attempt.end().catch(() => undefined);
  }
  return { rows, notes };
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

function table(rows: Row[]): string {
  const lines = [
    '| measurement | N | opslab p50 | opslab p90 | opslab p99 | baseline p50 | baseline p90 | baseline p99 | opslab/baseline p50 | opslab/baseline p99 |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const o = r.opslab;
    const b = r.baseline;
    lines.push(
      `| ${r.what} (${r.unit}) | ${o.n} | ${fmt(o.p50)} | ${fmt(o.p90)} | ${fmt(o.p99)} | ${fmt(b.p50)} | ${fmt(b.p90)} | ` +
        `${fmt(b.p99)} | ${fmt(ratio(o.p50, b.p50), '×')} | ${fmt(ratio(o.p99, b.p99), '×')} |`,
    );
  }
  return lines.join('\n');
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function machine(docker: Docker, before: { load: string; commit: string }): Promise<string> {
  const version = await docker.version();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- CPUs: ${os.availableParallelism()} (nproc; ${cpu})`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Docker Engine ${version.Version} (API ${version.ApiVersion}), kernel ${os.release()}`,
    `- Node ${process.version}`,
    `- Load average (1, 5, 15 min) before the run: ${before.load}; after: ${loadavg()}`,
    `- Commit: ${before.commit}`,
  ].join('\n');
}

function gitHead(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
  try {
    const modified = git('status', '--porcelain', '--', 'server') ? ' (server/ modified)' : '';
    return `${git('rev-parse', '--short', 'HEAD')}${modified}`;
  } catch {
    return 'unknown';
  }
}

const METHOD = `Both sides run in this one Node process against the same engine and image (\`${IMAGE}\`), alternating
one opslab sample and one baseline sample (A B A B …) so that drift on the machine affects both alike. Times are
\`performance.now()\` at the moment the bytes arrive in the client's \`data\`/\`message\` handler. The opslab server
is a real one built with \`buildApp\` listening on 127.0.0.1 (a random port) in the same process as the client,
so client and server share one event loop, as the baseline's client shares it with dockerode.

- **Start**: opslab = \`POST /api/attempts\` (exercise \`${EXERCISE}\`) then the terminal WebSocket, until the
  first binary output byte and until the received output ends with the full shell prompt. The POST answers once
  the sandbox runs and is provisioned (workspace copied in, setup if any, initial snapshot), so that work is
  included; the shell's prompt is by then in the server's screen mirror and arrives with the repaint. The attempt
  is then submitted through the API (which grades it and removes its sandbox; not timed). Baseline = dockerode
  \`createContainer\` with the same flags as opslab's Docker driver (TTY, open stdin, \`bash -l\` from the image,
  capabilities dropped but the allow-list, no-new-privileges, no network, the same memory/CPU/pids limits, init,
  log cap), then \`attach\` (hijacked) and \`start\`, until the same two events; the container is then force-removed.
  One unmeasured pair first; N=${N_START} pairs.
- **Keystroke echo**: one printable character sent, time until it comes back; then a backspace (DEL) and its
  echo are awaited (not timed) so the line stays empty. opslab = one binary WebSocket frame into a running
  attempt. Baseline = \`docker exec\` of \`bash\` with a TTY (\`exec.start({hijack: true, stdin: true, Tty: true})\`)
  in a container created as above. Each round also times the same over the raw \`attach\` stream of that
  container's own \`bash -l\` (A B C A B C …), shown as a note: it is the engine path opslab uses, so it separates
  what the engine costs from what opslab adds. ${N_ECHO_WARMUP} unmeasured rounds first; N=${N_ECHO} rounds.
- **Output throughput**: \`head -c ${FLOOD_MB}M /dev/zero | base64; echo END-$((6*7))\` typed at the prompt; MB/s
  = terminal output bytes received (≈ 90.6 MB: base64 plus CR LF line ends) / time from sending the command to the
  arrival of \`END-42\`. opslab = through the WebSocket with acknowledgements (flow control, screen mirror and
  recording all active); baseline = the raw hijacked \`attach\` stream of the container's own TTY. One 8 MiB
  unmeasured pair first; N=${N_FLOOD} pairs; only medians are meaningful at this N.

The opslab client acknowledges output in full 32 KiB batches as it arrives and the remainder after ${ACK_REST_MS} ms
of quiet: about the fewest ack messages the protocol allows (at least one per 32 KiB). Acknowledging every frame
instead (what the web client does when its terminal keeps up) sent about one ack per ~24 KB frame during the
flood here, close to or above the server's input limit of 1000 messages/s: acks were dropped
(\`input_rate_limited\`), a dropped ack is never credited, and the server ended the connection (1008 after repeated
violations, or 4008 "stopped acknowledging").

p90 is shown from 10 samples, p99 from 100 (nearest rank). Ratios are opslab ÷ baseline of the same statistic:
above 1× means opslab takes longer (latency) or, for throughput, moves more per second.`;

async function main(): Promise<void> {
  const docker = new Docker();
  await docker.ping();
  await docker.getImage(IMAGE).inspect().catch(() => {
    throw new Error(`image ${IMAGE} is missing: run \`npm run images\` first`);
  });
  const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
  const before = { load: loadavg(), commit: gitHead() };
  const server = await startServer();
  const baseline = new Baseline(docker, server.limits);
  const cleanup = async () => {
    await baseline.removeAll();
    await server.destroy();
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  let result: { rows: Row[]; notes: string[] };
  try {
    result = await measure(server.url, baseline, log);
  } finally {
    await cleanup();
  }
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const report = table(result.rows);
  process.stdout.write(`\n${report}\n\n${result.notes.join('\n')}\n`);
  const markdown = [
    '# opslab benchmarks',
    '',
    `Written by \`npm run bench\` on ${date}. Figures vary between machines and runs; compare ratios, not absolutes.`,
    '',
    '## Machine',
    '',
    await machine(docker, before),
    '',
    '## Results',
    '',
    report,
    '',
    ...result.notes.map((n) => `- ${n}`),
    '',
    '## How each number is measured',
    '',
    METHOD,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), markdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
