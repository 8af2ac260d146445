import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../server/src/sandbox/drivers/docker/exec.js';
import { parseTop } from '../../server/src/sandbox/drivers/docker/processes.js';

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
