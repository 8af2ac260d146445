// Item 6: floods and bad frames on the terminal WebSocket.
//
// Already proven elsewhere (not repeated here): test/integration/terminal.test.ts "keeps server memory bounded
// under an output flood" (a browser that stops acknowledging pauses the shell; a `yes` flood; Ctrl-C brings the
// prompt back), test/integration/sandbox-posture.test.ts (a 65 KiB frame closes with 1009; bad control messages
// get a notice; acknowledgements are never rate-limited).
//
// Added here: binary output, a 10 MB paste, a resize storm, malformed frames at the byte level, and the
// recording's size cap under all of it; each with the server's peak memory growth.
import { afterAll, describe, expect, it } from 'vitest';
import { parseAsciicast, truncationMarker } from '../../server/src/terminal/recorder.js';
import { HIGH_WATERMARK } from '../../server/src/terminal/attempt-terminal.js';
import { useTestServer } from '../helpers/server.js';
import { stripAnsi, TestTerminal } from '../helpers/terminal-client.js';
import { api, startAttempt } from '../helpers/api.js';
import { figure } from '../helpers/figures.js';
import { frame, rawUpgrade } from '../helpers/raw-ws.js';
import { MAX_PENDING_INPUT_BYTES } from '../../server/src/sandbox/drivers/docker/docker-driver.js';

const ITEM = '6 floods';
const RECORDING_CAP_MB = 1;
/** Room the recorder keeps past its cap for the truncation marker and lifecycle markers (recorder.ts). */
const MARKER_ALLOWANCE = 16 * 1024;
const MiB = 1024 * 1024;
const PROMPT = /root@sandbox[^#]*# $/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples this process's RSS (the test server runs in it) until stopped; returns the peak growth in MiB. */
function rssSampler() {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop(): number {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return (peak - base) / MiB;
    },
  };
}

describe('terminal floods and bad frames (real server, real engine)', () => {
  const server = useTestServer({ env: { OPSLAB_RECORDING_MAX_MB: String(RECORDING_CAP_MB) } });

  const trimmers: NodeJS.Timeout[] = [];
  afterAll(() => trimmers.forEach((t) => clearInterval(t)));

  async function ready() {
    const { attempt, token } = await startAttempt(server.url);
    const term = await TestTerminal.connect(server.url, attempt.id, token);
    await term.waitFor(() => PROMPT.test(stripAnsi(term.text)));
    // The test client keeps only the tail of what it received: the memory measured is the server's (it runs in
    // this process), not a copy of the flood held by the test.
    trimmers.push(setInterval(() => (term.text = term.text.slice(-64 * 1024)), 20));
    const terminal = await server.services.attempts.terminalFor((await server.services.attempts.get(attempt.id))!);
    return { attempt, token, term, terminal };
  }

  /** Types a command after `from` and waits for its marker: the shell answers again. */
  async function answers(term: TestTerminal, label: string): Promise<void> {
    const n = Math.floor(Math.random() * 1000) + 1000;
    term.type(`echo ${label}-$((${n}+1))\r`);
    await term.waitFor(() => term.text.includes(`${label}-${n + 1}`), 20_000);
  }

  async function recording(attemptId: string, token: string) {
    server.services.attempts.flushRecording(attemptId);
    const res = await api(server.url, 'GET', `/api/attempts/${attemptId}/recording`, token);
    expect(res.status).toBe(200);
    return { bytes: Buffer.byteLength(res.text), cast: parseAsciicast(res.text) };
  }

  it('binary output (cat /dev/urandom): bounded memory, Ctrl-C answers, the recording stops at its cap with a marker', async () => {
    const { attempt, token, term, terminal } = await ready();
    const rss = rssSampler();
    let maxPressure = 0;
    const pressure = setInterval(() => (maxPressure = Math.max(maxPressure, terminal.pressure)), 20);
    const start = term.receivedBytes;
    const t0 = Date.now();
    term.type('cat /dev/urandom\r');
    await term.waitFor(() => term.receivedBytes - start > 8 * MiB, 60_000);
    const floodMs = Date.now() - t0;
    const delivered = term.receivedBytes - start;
    const ctrlC = Date.now();
    term.type('\x03');
    await answers(term, 'after-binary');
    const answerMs = Date.now() - ctrlC;
    clearInterval(pressure);
    const growth = rss.stop();

    // Flow control held: never more than the watermark plus one chunk in flight per consumer.
    expect(maxPressure).toBeLessThan(HIGH_WATERMARK + MiB);
    expect(growth).toBeLessThan(256);
    const rec = await recording(attempt.id, token);
    expect(rec.bytes).toBeLessThanOrEqual(RECORDING_CAP_MB * MiB + MARKER_ALLOWANCE);
    const markers = rec.cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(markers).toContain(truncationMarker(RECORDING_CAP_MB * MiB));
    term.close();

    figure(ITEM, 'binary flood delivered to the browser', Math.round((delivered / MiB / (floodMs / 1000)) * 10) / 10, 'MiB/s');
    figure(ITEM, 'binary flood: peak server RSS growth', Math.round(growth * 10) / 10, 'MiB');
    figure(ITEM, 'binary flood: max unacknowledged bytes', maxPressure, 'B');
    figure(ITEM, 'binary flood: Ctrl-C until the shell answers', answerMs, 'ms');
    figure(ITEM, `recording after ${Math.round(delivered / MiB)} MiB of output (cap ${RECORDING_CAP_MB} MiB)`, rec.bytes, 'B');
  });

  it('a 10 MB paste: the rate limit drops the excess with a notice, memory stays bounded, the connection survives', async () => {
    const { term } = await ready();
    // The paste goes to a program that reads it raw and silently (no echo, no line discipline), so what reaches
    // the sandbox can be counted there.
    term.type('stty -echo -icanon; cat > /tmp/paste\r');
    await sleep(300);
    const rss = rssSampler();
    const paste = Buffer.alloc(10 * 1000 * 1000);
    for (let i = 0; i < paste.length; i++) paste[i] = 0x61 + (i % 26);
    const t0 = Date.now();
    const FRAME = 64 * 1024;
    for (let off = 0; off < paste.length; off += FRAME) term.ws.send(paste.subarray(off, off + FRAME), { binary: true });
    await new Promise<void>((resolve) => {
      const check = () => (term.ws.bufferedAmount === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
    const sentMs = Date.now() - t0;
    await sleep(500);
    const growth = rss.stop();
    const ctrlC = Date.now();
    term.type('\x03');
    await term.waitFor(() => PROMPT.test(stripAnsi(term.text.slice(-2000))), 20_000);
    const promptMs = Date.now() - ctrlC;
    term.type('stty sane; echo pasted=$(wc -c < /tmp/paste)\r');
    await term.waitFor(/pasted=\d+/, 20_000);
    const accepted = Number(/pasted=(\d+)/.exec(term.text)![1]);
    const notices = term.controls.filter((c) => c.type === 'notice' && c.code === 'input_rate_limited');

    // At most the burst plus the steady rate over the time it took; the rest was dropped and the client told.
    const allowance = MiB + ((Date.now() - t0) / 1000) * 256 * 1024;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(allowance);
    expect(notices.length).toBeGreaterThan(0);
    expect(growth).toBeLessThan(256);
    await answers(term, 'after-paste');
    expect(term.ws.readyState).toBe(term.ws.OPEN);
    term.close();

    figure(ITEM, '10 MB paste: bytes that reached the sandbox', accepted, 'B');
    figure(ITEM, '10 MB paste: sent in', sentMs, 'ms');
    figure(ITEM, '10 MB paste: peak server RSS growth', Math.round(growth * 10) / 10, 'MiB');
    figure(ITEM, '10 MB paste: Ctrl-C until the prompt', promptMs, 'ms');
  });

  it('input for a program that never reads it: the server holds at most 1 MiB of it, the rest is dropped', async () => {
    const { term, terminal } = await ready();
    term.type('stty -echo -icanon; sleep 60\r');
    await sleep(300);
    // The shell's attach stream (server side): what waits there for the engine is what the server holds.
    const held = () => (terminal as unknown as { session: { stream: { writableLength: number } } }).session.stream.writableLength;
    const chunk = Buffer.alloc(32 * 1024, 0x61);
    let maxHeld = 0;
    // The burst, then the steady rate the limiter allows, for six seconds: 2.5 MiB in all.
    for (let s = 0; s < 6; s++) {
      for (let i = 0; i < (s === 0 ? 32 : 8); i++) term.ws.send(chunk, { binary: true });
      for (let t = 0; t < 10; t++) {
        await sleep(100);
        maxHeld = Math.max(maxHeld, held());
      }
    }
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(MAX_PENDING_INPUT_BYTES + 64 * 1024);
    expect(term.ws.readyState).toBe(term.ws.OPEN);
    term.close();
    figure(ITEM, 'input held for a program that does not read (2.5 MiB sent)', maxHeld, 'B');
  });

  it('a resize storm: the message rate closes the connection cleanly (1008); the shell keeps the last size it accepted', async () => {
    const { attempt, token, term } = await ready();
    const rss = rssSampler();
    const t0 = Date.now();
    // Far past what the message rate allows even if the server is slow to read them (2000 + 1000/s).
    const STORM = 10_000;
    for (let i = 0; i < STORM; i++) term.resize(80 + (i % 100), 24 + (i % 30));
    const closed = await term.closed;
    const closeMs = Date.now() - t0;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/too many messages/i);
    // The shell is fine: a new connection answers and the sandbox's terminal has one of the storm's sizes.
    const again = await TestTerminal.connect(server.url, attempt.id, token);
    const t1 = Date.now();
    // Printed after a marker: after the storm, readline may redraw the typed line without a newline, so the size
    // is not always alone on its line.
    again.type('echo "size=$(stty size)"\r');
    const SIZE = /size=(\d+) (\d+)$/m;
    await again.waitFor(() => SIZE.test(stripAnsi(again.text)), 20_000);
    const settleMs = Date.now() - t1;
    const growth = rss.stop();
    const [rows, cols] = SIZE.exec(stripAnsi(again.text))!.slice(1).map(Number);
    expect(cols).toBeGreaterThanOrEqual(80);
    expect(rows).toBeGreaterThanOrEqual(24);
    expect(growth).toBeLessThan(256);
    const rec = await recording(attempt.id, token);
    const resizes = rec.cast.events.filter((e) => e[1] === 'r').length;
    expect(resizes).toBeLessThanOrEqual(STORM);
    again.close();

    figure(ITEM, `resize storm of ${STORM} messages: closed (1008) after`, closeMs, 'ms');
    figure(ITEM, 'resize storm: resizes recorded', resizes);
    figure(ITEM, 'resize storm: next command answered after', settleMs, 'ms');
    figure(ITEM, 'resize storm: peak server RSS growth', Math.round(growth * 10) / 10, 'MiB');
  });

  it('malformed frames at the byte level each close the connection with a protocol code; the server and the shell carry on', async () => {
    const { attempt, token, term } = await ready();
    term.close();
    await term.closed;
    const url = `${server.url}/api/attempts/${attempt.id}/terminal`;
    const text = (s: string) => Buffer.from(s, 'utf8');
    const cases: [string, Buffer, number][] = [
      ['unmasked frame', frame(0x2, text('ls\r'), { mask: false }), 1002],
      ['reserved bits set', frame(0x2, text('ls\r'), { rsv: 0b100 }), 1002],
      ['unknown opcode', frame(0x3, text('x')), 1002],
      ['continuation without a start', frame(0x0, text('x')), 1002],
      ['fragmented ping', frame(0x9, text('x'), { fin: false }), 1002],
      ['control frame over 125 bytes', frame(0x9, Buffer.alloc(200)), 1002],
      ['invalid UTF-8 in a text frame', frame(0x1, Buffer.from([0xc3, 0x28, 0xff])), 1007],
      ['declared length of 2^63-1 bytes', frame(0x2, Buffer.alloc(0), { declaredLength: 2n ** 63n - 1n }), 1009],
      ['declared length of 70 KB', frame(0x2, Buffer.alloc(0), { declaredLength: 70_000n }), 1009],
      ['a text frame of 70 KB', frame(0x1, Buffer.alloc(70_000, 0x61)), 1009],
      ['random bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x13, 0x37, 0, 1, 2, 3, 4, 5]), 1002],
    ];
    const closes: number[] = [];
    for (const [label, bytes, code] of cases) {
      const raw = await rawUpgrade(url, { authorization: `Bearer ${token}` });
      const close = await raw.sendAndWaitClose(bytes);
      expect(close.code, label).toBe(code);
      closes.push(close.ms);
    }
    expect((await api(server.url, 'GET', '/api/health')).status).toBe(200);
    const again = await TestTerminal.connect(server.url, attempt.id, token);
    await answers(again, 'after-frames');
    again.close();

    figure(ITEM, 'malformed frame cases closed with the right code', `${closes.length}/${cases.length}`);
    figure(ITEM, 'malformed frame: slowest close', Math.max(...closes), 'ms');
  });
});
