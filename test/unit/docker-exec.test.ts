import { PassThrough, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { CappedOutput, ExecDemuxer, execBounded, execCapped } from '../../server/src/sandbox/drivers/docker/exec.js';
import { ExecLimitError } from '../../server/src/sandbox/sandbox-driver.js';
import { parsePathStat } from '../../server/src/sandbox/drivers/docker/paths.js';
import { parseTop } from '../../server/src/sandbox/drivers/docker/processes.js';
import { parseChanges, parsePartial, withoutEngineFiles } from '../../server/src/sandbox/drivers/docker/changes.js';

const feed = (out: CappedOutput, ...chunks: string[]) => chunks.forEach((c) => out.push(Buffer.from(c)));

describe('capped exec output (no engine)', () => {
  it('keeps everything under the cap', () => {
    const out = new CappedOutput(100, 10);
    feed(out, 'hello ', 'world');
    expect(out.text()).toBe('hello world');
    expect(out.over()).toBe(false);
  });

  it('keeps the head only when no tail is asked for', () => {
    const out = new CappedOutput(5);
    feed(out, 'abc', 'defgh', 'ijk');
    expect(out.text()).toBe('abcde');
    expect(out.over()).toBe(true);
  });

  it('keeps the head and the tail, and says how much was left out between', () => {
    const out = new CappedOutput(4, 3);
    feed(out, 'ab', 'cdef', 'ghij', 'klmnop');
    expect(out.text()).toBe('abcd\n[opslab] 9 bytes of output left out here\nnop');
    expect(out.over()).toBe(true);
  });

  it('keeps the tail right over many small chunks', () => {
    const out = new CappedOutput(2, 5);
    for (let i = 0; i < 500; i++) feed(out, String(i % 10));
    expect(out.text()).toBe('01\n[opslab] 493 bytes of output left out here\n56789');
  });

  it('reads what comes through its sink', async () => {
    const out = new CappedOutput(3, 0);
    out.sink.end(Buffer.from('abcdef'));
    await new Promise((r) => out.sink.on('end', r));
    expect(out.text()).toBe('abc');
  });
});

/** One frame of the engine's multiplexed exec stream. */
const frame = (type: 1 | 2, text: string | Buffer) => {
  const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

/** A stand-in engine whose exec streams what `source` gives and reports `exitCode`. */
function fakeEngine(source: () => Readable, exitCode = 0) {
  const streams: Readable[] = [];
  const docker = {
    getContainer: () => ({
      exec: async () => ({
        start: async () => {
          const s = source();
          streams.push(s);
          return s;
        },
        inspect: async () => ({ Running: false, ExitCode: exitCode }),
      }),
    }),
  } as unknown as Docker;
  return { docker, streams };
}

/** A stream that writes stdout frames for as long as it is read (cat /dev/zero), as a socket would: in turns. */
const endless = () => {
  const chunk = frame(1, Buffer.alloc(32 * 1024));
  return new Readable({
    read() {
      setImmediate(() => this.push(chunk));
    },
  });
};

describe('exec stream demultiplexing (no engine)', () => {
  it('splits stdout and stderr, with headers and payloads cut anywhere across chunks', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world'), frame(2, '!')]);
    for (const size of [1, 3, 7, 8, 9, all.length]) {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const demux = new ExecDemuxer(
        (c) => out.push(Buffer.from(c)),
        (c) => err.push(Buffer.from(c)),
      );
      for (let i = 0; i < all.length; i += size) demux.push(all.subarray(i, i + size));
      expect(Buffer.concat(out).toString()).toBe('hello world');
      expect(Buffer.concat(err).toString()).toBe('oops!');
    }
  });

  it('never holds a frame whole: a frame announcing 4 GiB is passed on as it comes', () => {
    const header = Buffer.alloc(8);
    header.writeUInt8(1, 0);
    header.writeUInt32BE(0xffffffff, 4);
    let seen = 0;
    const demux = new ExecDemuxer(
      (c) => (seen += c.length),
      () => undefined,
    );
    demux.push(header);
    for (let i = 0; i < 100; i++) demux.push(Buffer.alloc(64 * 1024));
    expect(seen).toBe(100 * 64 * 1024);
  });
});

describe('bounded exec (a stand-in engine)', () => {
  it('returns the output and the exit code of a program that ends', async () => {
    const { docker } = fakeEngine(() => Readable.from([frame(1, 'out'), frame(2, 'err')]), 3);
    const r = await execBounded(docker, 'c', ['x']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out', stderr: 'err', truncated: false });
  });

  it('keeps the head and the tail of a long output, and says what was cut', async () => {
    const { docker } = fakeEngine(() => Readable.from([frame(1, 'a'.repeat(1000)), frame(1, 'b'.repeat(1000))]));
    const r = await execBounded(docker, 'c', ['x'], { maxOutputBytes: 10, tailBytes: 5 });
    expect(r.stdout).toBe(`${'a'.repeat(10)}\n[opslab] 1985 bytes of output left out here\n${'b'.repeat(5)}`);
    expect(r.truncated).toBe(true);
  });

  it('destroys the stream of a program that writes forever once the read limit is passed', async () => {
    const { docker, streams } = fakeEngine(endless);
    const err = await execBounded(docker, 'c', ['cat', '/dev/zero'], {
      maxOutputBytes: 100,
      tailBytes: 100,
      maxReadBytes: 4 * 1024 * 1024,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecLimitError);
    expect((err as ExecLimitError).limit).toBe('output');
    expect((err as ExecLimitError).stdout.length).toBeLessThan(300);
    expect((err as ExecLimitError).stdout).toMatch(/\[opslab\] \d+ bytes of output left out here/);
    expect(streams[0]!.destroyed).toBe(true);
  });

  it('destroys the stream of a program that never ends at the timeout', async () => {
    const { docker, streams } = fakeEngine(() => new PassThrough());
    const t0 = Date.now();
    const err = await execBounded(docker, 'c', ['sleep', 'inf'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as ExecLimitError).limit).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(streams[0]!.destroyed).toBe(true);
  });

  it('times out when the engine never answers the creation of the exec', async () => {
    const docker = { getContainer: () => ({ exec: () => new Promise(() => undefined) }) } as unknown as Docker;
    const err = await execBounded(docker, 'c', ['x'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as ExecLimitError).limit).toBe('timeout');
  });

  it('job execs read and drop a flood until their timeout, keeping the tail, then destroy the stream', async () => {
    const { docker, streams } = fakeEngine(endless);
    const r = await execCapped(docker, 'c', ['x'], { timeoutMs: 200, maxOutputBytes: 10, tailBytes: 10 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, truncated: true });
    expect(r.stdout.length).toBeLessThan(100);
    expect(streams[0]!.destroyed).toBe(true);
  });
});

describe('process list from the engine (no engine)', () => {
  it('reads ps columns by title, the command line last with single spaces', () => {
    const top = {
      Titles: ['PID', 'PPID', 'UID', 'STAT', 'COMMAND'],
      Processes: [
        ['4100', '4090', '0', 'Ss', '/sbin/docker-init -- bash -l'],
        ['4120', '4100', '1000', 'S+', 'python3   -m  http.server 8080'],
      ],
    };
    expect(parseTop(top)).toEqual([
      { pid: 4100, ppid: 4090, uid: 0, stat: 'Ss', args: '/sbin/docker-init -- bash -l' },
      { pid: 4120, ppid: 4100, uid: 1000, stat: 'S+', args: 'python3 -m http.server 8080' },
    ]);
    expect(parseTop({})).toEqual([]);
  });
});

describe('path stat from the engine (no engine)', () => {
  const header = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64');

  it('reads the type, permission bits and link target the engine reports (Go file modes)', () => {
    expect(parsePathStat(header({ name: 'test', size: 60304, mode: 0o755, linkTarget: '' }))).toEqual({
      type: 'file',
      mode: 0o755,
      size: 60304,
      linkTarget: null,
    });
    expect(parsePathStat(header({ name: 'root', size: 4096, mode: 2147484096, linkTarget: '' }))).toMatchObject({
      type: 'directory',
      mode: 0o700,
    });
    expect(parsePathStat(header({ name: 'bin', size: 7, mode: 134218239, linkTarget: '/usr/bin' }))).toMatchObject({
      type: 'symlink',
      linkTarget: '/usr/bin',
    });
    // A named pipe with rw-r--r--, and /tmp's sticky bit (Go: 1<<20).
    expect(parsePathStat(header({ name: 'fifo', mode: 33554852 }))).toMatchObject({ type: 'other', mode: 0o644 });
    expect(parsePathStat(header({ name: 'tmp', mode: 2 ** 31 + 2 ** 20 + 0o777 }))).toMatchObject({
      type: 'directory',
      mode: 0o1777,
    });
  });
});

describe('the engine’s record of a sandbox’s changes', () => {
  it('leaves out the engine’s own init and the folders changed only by it; keeps everything else', () => {
    const list = parseChanges(
      JSON.stringify([
        { Path: '/usr', Kind: 0 },
        { Path: '/usr/sbin', Kind: 0 },
        { Path: '/usr/sbin/docker-init', Kind: 1 },
        { Path: '/tmp', Kind: 0 },
        { Path: '/tmp/x', Kind: 1 },
        { Path: '/etc/motd', Kind: 2 },
      ]),
    );
    expect(withoutEngineFiles(list)).toEqual([
      { path: '/tmp', kind: 'changed' },
      { path: '/tmp/x', kind: 'added' },
      { path: '/etc/motd', kind: 'deleted' },
    ]);
    const patched = [...list, { path: '/usr/sbin/evil', kind: 'added' as const }];
    expect(withoutEngineFiles(patched).map((c) => c.path)).toEqual(['/usr', '/usr/sbin', '/tmp', '/tmp/x', '/etc/motd', '/usr/sbin/evil']);
    expect(parseChanges('null')).toEqual([]);
  });

  it('reads the complete entries of an answer cut at its cap', () => {
    const text = JSON.stringify([{ Path: '/a "quoted"', Kind: 1 }, { Path: '/b', Kind: 0 }]).slice(0, 40);
    expect(parsePartial(text)).toEqual([{ path: '/a "quoted"', kind: 'added' }]);
  });
});
