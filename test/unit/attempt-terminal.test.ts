import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AttemptTerminal,
  CLOSE_CODES,
  HIGH_WATERMARK,
  LOW_WATERMARK,
  MAX_HELD_INPUT_BYTES,
  type TerminalClient,
} from '../../server/src/terminal/attempt-terminal.js';
import { parseAsciicast } from '../../server/src/terminal/recorder.js';
import { FakeSession } from '../helpers/fake-driver.js';
import { tempDataDir } from '../helpers/server.js';

class RecordingClient implements TerminalClient {
  output = '';
  bytes = 0;
  controls: Record<string, unknown>[] = [];
  closedWith: [number, string] | null = null;
  sendOutput(chunk: Buffer | string): void {
    this.bytes += Buffer.byteLength(chunk);
    this.output += chunk.toString();
  }
  sendControl(message: Record<string, unknown>): void {
    this.controls.push(message);
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
}

describe('AttemptTerminal', () => {
  let dir: string;
  let file: string;
  let exits: number;

  const open = (maxBytes = 1024 * 1024) =>
    AttemptTerminal.open({
      attemptId: 'a_test',
      recordingFile: file,
      startedAt: Date.now(),
      recordingMaxBytes: maxBytes,
      onShellExit: () => exits++,
      log: () => undefined,
    });

  beforeEach(() => {
    dir = tempDataDir();
    file = path.join(dir, 'recordings', 'a_test.cast');
    exits = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends output to the client, records output, input and resizes as asciicast v2', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    const client = new RecordingClient();
    await term.connect(client);
    session.print('root@sandbox:~# ');
    term.input(Buffer.from('ls\r'));
    await term.resize(100, 30);
    term.close({ code: CLOSE_CODES.ended, text: 'done', marker: 'submitted' });
    expect(client.output).toContain('root@sandbox:~# ');
    expect(client.output).toContain('ls\r'); // echoed by the fake shell
    expect(client.closedWith).toEqual([CLOSE_CODES.ended, 'done']);
    const cast = parseAsciicast(fs.readFileSync(file, 'utf8'));
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24 });
    const codes = cast.events.map((e) => `${e[1]}:${e[2]}`);
    expect(codes).toContain('o:root@sandbox:~# ');
    expect(codes).toContain('i:ls\r');
    expect(codes).toContain('r:100x30');
    expect(codes.at(-1)).toBe('m:submitted');
    expect(session.lastSize).toEqual([100, 30]);
  });

  it('holds input back until the start completes, then writes and records it in order; output flows meanwhile', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    let release!: () => void;
    term.holdInput(new Promise<void>((resolve) => (release = resolve)));
    const client = new RecordingClient();
    await term.connect(client);
    session.print('root@sandbox:~# ');
    term.input(Buffer.from('ec'));
    term.input(Buffer.from('ho\r'));
    term.input(Buffer.alloc(MAX_HELD_INPUT_BYTES, 'x')); // past the bound: dropped
    expect(client.output).toBe('root@sandbox:~# ');
    expect(session.written).toEqual([]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(session.written).toEqual(['ec', 'ho\r']);
    term.input(Buffer.from('ls\r'));
    expect(session.written).toEqual(['ec', 'ho\r', 'ls\r']);
    term.close({ code: CLOSE_CODES.ended, text: 'done' });
    const inputs = parseAsciicast(fs.readFileSync(file, 'utf8')).events.filter((e) => e[1] === 'i').map((e) => e[2]);
    expect(inputs).toEqual(['ec', 'ho\r', 'ls\r']);
  });

  it('drops held input when the terminal closes first (a start that failed)', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    let release!: () => void;
    term.holdInput(new Promise<void>((resolve) => (release = resolve)));
    term.input(Buffer.from('rm -rf /\r'));
    term.close({ code: CLOSE_CODES.ended, text: 'The sandbox could not be started.' });
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(session.written).toEqual([]);
  });

  it('pauses the shell above the high watermark and resumes below the low one', async () => {
    const term = await open(64 * 1024 * 1024);
    const session = new FakeSession();
    term.attachSession(session);
    const client = new RecordingClient();
    await term.connect(client);
    const chunk = Buffer.alloc(16 * 1024, 'y');
    while (!session.paused) session.print(chunk);
    expect(client.bytes).toBeGreaterThan(HIGH_WATERMARK);
    expect(client.bytes).toBeLessThan(HIGH_WATERMARK + 2 * chunk.length);
    term.ack(client, client.bytes - LOW_WATERMARK); // still at the low watermark: stays paused
    await new Promise((r) => setTimeout(r, 50));
    expect(session.paused).toBe(true);
    term.ack(client, 1);
    // The mirror parses asynchronously and counts too: it resumes once both are below the low watermark.
    for (let i = 0; i < 200 && session.paused; i++) await new Promise((r) => setTimeout(r, 25));
    expect(session.paused).toBe(false);
    term.close({ code: 1000, text: 'bye' });
  });

  it('repaints the current screen for a reconnecting client and replaces the older one', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    const first = new RecordingClient();
    await term.connect(first);
    session.print('echo one\r\none\r\n$ ');
    const second = new RecordingClient();
    await term.connect(second);
    expect(first.closedWith?.[0]).toBe(CLOSE_CODES.replaced);
    expect(second.controls[0]).toMatchObject({ type: 'repaint', cols: 80, rows: 24 });
    expect(second.output).toContain('one');
    session.print('after');
    expect(second.output.endsWith('after')).toBe(true);
    term.close({ code: 1000, text: 'bye' });
  });

  it('rebuilds the screen from the recording after a restart', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    session.print('\x1b[31mbefore restart\x1b[0m\r\n$ ');
    term.close({ code: 1012, text: 'restart' });
    const again = await open();
    const client = new RecordingClient();
    await again.connect(client);
    expect(client.output).toContain('before restart');
    expect(client.controls).toContainEqual({ type: 'shell-exited' }); // no shell attached yet
    again.close({ code: 1000, text: 'bye' });
  });

  it('tells clients when the shell exits', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    const client = new RecordingClient();
    await term.connect(client);
    session.exit();
    await new Promise((r) => setTimeout(r, 10));
    expect(client.controls).toContainEqual({ type: 'shell-exited' });
    expect(exits).toBe(1);
    expect(term.hasShell).toBe(false);
    term.close({ code: 1000, text: 'bye' });
    expect(fs.readFileSync(file, 'utf8')).toContain('"m","shell-exited"');
  });

  it('caps the recording with a visible truncation marker', async () => {
    const term = await open(8 * 1024);
    const session = new FakeSession();
    term.attachSession(session);
    for (let i = 0; i < 100; i++) session.print(`line ${i} ${'x'.repeat(200)}\r\n`);
    term.close({ code: 1000, text: 'bye', marker: 'expired' });
    const text = fs.readFileSync(file, 'utf8');
    expect(text.length).toBeLessThan(8 * 1024 + 16 * 1024);
    const cast = parseAsciicast(text);
    const markers = cast.events.filter((e) => e[1] === 'm').map((e) => e[2]);
    expect(markers[0]).toMatch(/^recording truncated: size cap of 8192 bytes reached$/);
    expect(markers).toContain('expired');
  });

  it('cuts a half-written last line when it reopens a recording', async () => {
    const term = await open();
    const session = new FakeSession();
    term.attachSession(session);
    session.print('complete');
    term.close({ code: 1000, text: 'bye' });
    fs.appendFileSync(file, '[1.5, "o", "half wri');
    const again = await open();
    again.marker('adopted');
    again.close({ code: 1000, text: 'bye' });
    const cast = parseAsciicast(fs.readFileSync(file, 'utf8'));
    expect(cast.events.map((e) => e[2])).toEqual(['complete', 'adopted']);
  });
});
