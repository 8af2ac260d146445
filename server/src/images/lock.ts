// One image build at a time on this machine: the dev server, `npm run images` and the test setup
// may all call ensureImages at once, and two debootstraps of the same base help nobody.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const LOCK_DIR = path.join(tmpdir(), 'opslab-images.lock');
const WAIT_MS = 30 * 60_000;

function holder(): number | null {
  try {
    const pid = Number(readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run `fn` holding the machine-wide image lock (a directory; a dead holder's lock is taken over). */
export async function withImageLock<T>(log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = holder();
      let age = 0;
      try {
        age = Date.now() - statSync(LOCK_DIR).mtimeMs;
      } catch {
        continue; // just released
      }
      if ((pid !== null && !alive(pid)) || (pid === null && age > 10_000)) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another image build (pid ${pid}) holds ${LOCK_DIR} for too long`);
      if (!told) {
        log(`waiting for another image build to finish (pid ${pid ?? '?'})`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    if (holder() === process.pid) rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}
