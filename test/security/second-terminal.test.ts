// Item 28: the second terminal's endpoint (`?terminal=N` on the terminal WebSocket and the live view).
//
// Already proven elsewhere (not repeated here): test/integration/second-terminal.test.ts (another attempt's token,
// a forged Origin and no token refused before the upgrade; a third terminal refused with a clear error; a live
// view starts no shell and its input reaches none), test/security/floods.test.ts (the limits of the bridge both
// terminals share, on terminal 1).
//
// Added here: bad terminal ids at the byte level on both endpoints, a storm of connections to terminal 2, and its
// floods (input, output without acknowledgements, an oversized frame), each with what it left behind: shells in the
// sandbox, recordings on disk, the server's memory.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HIGH_WATERMARK } from '../../server/src/terminal/attempt-terminal.js';
import { terminalRecordingFile } from '../../server/src/terminal/terminal-files.js';
import { docker } from '../helpers/docker.js';
import { useTestServer } from '../helpers/server.js';
import { staffSession } from '../helpers/staff.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { startAttempt } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { rawUpgradeStatus } from '../helpers/raw-ws.js';

const ITEM = '28 second terminal';
const MiB = 1024 * 1024;
const PROMPT = /root@sandbox[^#]*# $/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `bash -l` processes of a sandbox (its main shell and exec'd ones), read from its /proc (the engine cannot list a
 * gVisor sandbox's processes from outside).
 */
async function loginShells(sandboxId: string): Promise<number> {
  const script = `n=0; for p in /proc/[0-9]*; do [ "$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null)" = 'bash -l ' ] && n=$((n+1)); done; echo $n`;
  const exec = await docker.getContainer(sandboxId).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  // The multiplexed stream: 8-byte headers before each frame of output.
  const all = Buffer.concat(chunks);
  let out = '';
  for (let off = 0; off + 8 <= all.length; ) {
    const len = all.readUInt32BE(off + 4);
    if (all[off] === 1) out += all.subarray(off + 8, off + 8 + len).toString('utf8');
    off += 8 + len;
  }
  return Number(out.trim());
}

const BAD_IDS = [
  '0', '3', '-1', '+2', '02', '2.0', '1e0', '0x2', '%202', '2%20', '%09', '%00', '2%00', 'two', '', 'null', 'undefined',
  '[2]', '{}', '999', '9'.repeat(40), '2;1', '%E2%82%82', '٢', 'Infinity', 'NaN',
];
const BAD_QUERIES = [
  ...BAD_IDS.map((v) => `terminal=${v}`),
  'terminal=2&terminal=2',
  'terminal=1&terminal=2',
  'terminal[]=2',
  'terminal[a]=2',
  'terminal',
  `terminal=${'2'.repeat(5000)}`,
];

describe('the second terminal under hostile input (real server, real engine)', () => {
  const server = useTestServer();

  async function ready() {
    const { attempt, token } = await startAttempt(server.url);
    const sandboxId = (await server.services.attempts.get(attempt.id))!.sandboxId!;
    return { id: attempt.id, token, sandboxId };
  }

  it('refuses every bad terminal id before the upgrade, on the candidate socket and the live view, starting nothing', async () => {
    const { id, token, sandboxId } = await ready();
    const staff = await staffSession(server, 'interviewer');
    const main = server.services.attempts.recordingFile((await server.services.attempts.get(id))!);
    const statuses = new Map<number, number>();
    let upgraded = 0;
    for (const query of BAD_QUERIES) {
      for (const [path, headers] of [
        [`/api/attempts/${id}/terminal`, { authorization: `Bearer ${token}` }],
        [`/api/manage/attempts/${id}/live`, { ...staff.headers, origin: server.url }],
      ] as const) {
        const status = await rawUpgradeStatus(server.url, `${path}?${query}`, headers);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 101) upgraded++;
        expect(status, `${path}?${query.slice(0, 60)}`).toBe(400);
      }
    }
    const tried = BAD_QUERIES.length * 2;
    expect(upgraded).toBe(0);
    expect(await loginShells(sandboxId)).toBe(1);
    expect(fs.existsSync(terminalRecordingFile(main, 2))).toBe(false);
    expect(fs.existsSync(terminalRecordingFile(main, 3))).toBe(false);
    // The server is still answering, and terminal 2 still opens for its owner.
    const two = await TestTerminal.open(`${server.url}/api/attempts/${id}/terminal?terminal=2`, { authorization: `Bearer ${token}` });
    await two.waitFor(() => PROMPT.test(stripAnsi(two.text)));
    two.close();
    figure(ITEM, 'bad terminal ids refused before the upgrade', `${tried - upgraded} of ${tried}`);
    figure(ITEM, 'shells started by them', 0);
  });

  it('keeps one shell through a storm of connections to terminal 2, and no memory', async () => {
    const { id, token, sandboxId } = await ready();
    const url = `${server.url}/api/attempts/${id}/terminal?terminal=2`;
    const auth = { authorization: `Bearer ${token}` };
    const first = await TestTerminal.open(url, auth);
    await first.waitFor(() => PROMPT.test(stripAnsi(first.text)));
    first.close();
    const rss = process.memoryUsage.rss();
    const t0 = Date.now();
    // 20 at once (the first opening is shared), then 100 one after another, each closed at once.
    const parallel = await Promise.all(Array.from({ length: 20 }, () => TestTerminal.open(url, auth).catch(() => null)));
    for (const t of parallel) t?.close();
    let opened = parallel.filter(Boolean).length;
    for (let i = 0; i < 100; i++) {
      const t = await TestTerminal.open(url, auth).catch(() => null);
      if (t) opened++;
      t?.close();
    }
    const ms = Date.now() - t0;
    await sleep(500);
    const shells = await loginShells(sandboxId);
    const growthMb = (process.memoryUsage.rss() - rss) / MiB;
    const last = await TestTerminal.open(url, auth);
    await last.waitFor(() => last.repaint !== null);
    last.type('echo still-$((9*9))\r');
    await last.waitFor('still-81');
    last.close();
    figure(ITEM, '120 connections to terminal 2', `${opened} opened in ${ms} ms`);
    figure(ITEM, 'bash -l in the sandbox after them', shells);
    figure(ITEM, 'server RSS growth over the storm', Number(growthMb.toFixed(1)), 'MiB');
    expect(shells).toBe(2);
    expect(growthMb).toBeLessThan(150);
  });

  it('holds terminal 2 to the same limits as terminal 1: paced output, rate-limited input, capped frames', async () => {
    const { id, token } = await ready();
    const url = `${server.url}/api/attempts/${id}/terminal?terminal=2`;
    const auth = { authorization: `Bearer ${token}` };
    const term = await TestTerminal.open(url, auth);
    await term.waitFor(() => PROMPT.test(stripAnsi(term.text)));
    const terminal = await server.services.attempts.terminalFor((await server.services.attempts.get(id))!, 2);

    // Output nobody acknowledges: the shell is paused, nothing piles up.
    term.autoAck = false;
    term.type('cat /dev/urandom | base64\r');
    await term.waitFor(() => term.receivedBytes > HIGH_WATERMARK);
    let maxPressure = 0;
    for (let i = 0; i < 20; i++) {
      maxPressure = Math.max(maxPressure, terminal.pressure);
      await sleep(50);
    }
    expect(terminal.isPaused).toBe(true);
    expect(maxPressure).toBeLessThan(HIGH_WATERMARK + MiB);
    term.autoAck = true;
    term.ack(term.receivedBytes);
    term.type('\x03');
    await term.waitFor(() => PROMPT.test(stripAnsi(term.text.slice(-300))), 15_000);

    // A 10 MiB paste at once: the rate limit drops what is beyond its burst and says so.
    const rss = process.memoryUsage.rss();
    const chunk = Buffer.alloc(60 * 1024, 'a');
    for (let sent = 0; sent < 10 * MiB; sent += chunk.length) term.ws.send(chunk, { binary: true });
    await term.waitFor(() => term.controls.some((c) => c.type === 'notice' && c.code === 'input_rate_limited'), 15_000);
    const growthMb = (process.memoryUsage.rss() - rss) / MiB;
    term.type('\x03');

    // A frame over the limit closes the connection with 1009.
    const big = await TestTerminal.open(url, auth);
    big.ws.send(Buffer.alloc(65 * 1024 + 1, 'b'), { binary: true });
    const closed = await big.closed;
    expect(closed.code).toBe(1009);
    figure(ITEM, 'terminal 2 max unacknowledged bytes', maxPressure, 'B');
    figure(ITEM, 'terminal 2 10 MiB paste: server RSS growth', Number(growthMb.toFixed(1)), 'MiB');
    figure(ITEM, 'terminal 2 oversized frame close code', closed.code);
    expect(growthMb).toBeLessThan(200);
    term.close();
  });
});
