import { describe, expect, it } from 'vitest';
import { Turns } from '../../server/src/grading/measurement-turns.js';

/** A turn that ends when told to, recording when it ran. */
function turn(log: string[], name: string) {
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    end,
    fn: async () => {
      log.push(`${name}+`);
      await ended;
      log.push(`${name}-`);
      return name;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('measurement turns', () => {
  it('runs one turn at a time, in the order asked', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => turn(log, n));
    const ra = turns.run(a!.fn);
    const rb = turns.run(b!.fn);
    const rc = turns.run(c!.fn);
    await tick();
    expect(log).toEqual(['a+']);
    expect(turns.state()).toEqual({ busy: true, waiting: 2 });
    // The last asked ends first: it still waits for its turn.
    c!.end();
    a!.end();
    expect(await ra).toBe('a');
    await tick();
    expect(log).toEqual(['a+', 'a-', 'b+']);
    b!.end();
    expect(await Promise.all([rb, rc])).toEqual(['b', 'c']);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(turns.state()).toEqual({ busy: false, waiting: 0 });
  });

  it('a turn that throws hands on to the next', async () => {
    const turns = new Turns();
    const broken = turns.run(async () => {
      throw new Error('broken');
    });
    const next = turns.run(async () => 'next');
    await expect(broken).rejects.toThrow('broken');
    expect(await next).toBe('next');
    expect(turns.state()).toEqual({ busy: false, waiting: 0 });
    expect(await turns.run(async () => 'free')).toBe('free');
  });
});
