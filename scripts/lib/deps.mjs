// Node version and npm dependencies, shared by `npm start` and `npm test`.
// Plain Node, no npm dependencies: it runs before node_modules exists.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { keepNativeBuild } from './native-cache.mjs';
import { npmCommand, readStamp, runOrThrow, say, timed, writeStamp } from './util.mjs';

export const MIN_NODE = [20, 11];

/** null when this Node is recent enough, else what to do about it. */
export function nodeVersionProblem(version = process.versions.node) {
  const [maj, min] = version.split('.').map(Number);
  if (maj > MIN_NODE[0] || (maj === MIN_NODE[0] && min >= MIN_NODE[1])) return null;
  return `Node.js >= ${MIN_NODE.join('.')} is needed, this is v${version} (${process.execPath}). ` +
    'Install Node 20 LTS or newer and run again.';
}

/** What node_modules was installed from: the lock file (or package.json without one) and Node's ABI. */
function depsKey(root) {
  const lock = path.join(root, 'package-lock.json');
  const source = existsSync(lock) ? lock : path.join(root, 'package.json');
  // The native modules (better-sqlite3) are tied to Node's ABI: a new Node needs a fresh install too.
  return `${createHash('sha256').update(readFileSync(source)).digest('hex')} node-abi-${process.versions.modules}`;
}

/**
 * `npm ci` (or `npm install` without a lock file) when node_modules is missing or was installed from another
 * lock file or Node ABI (a stamp in node_modules/.opslab-deps-stamp), then keeps a compiled native addon for the
 * next install (native-cache.mjs). Throws when npm fails.
 */
export async function ensureDeps(root) {
  const lock = path.join(root, 'package-lock.json');
  const nm = path.join(root, 'node_modules');
  const stampFile = path.join(nm, '.opslab-deps-stamp');
  const hasLock = existsSync(lock);
  const want = depsKey(root);
  const have = readStamp(stampFile);

  if (existsSync(nm) && have === want) {
    say('dependencies up to date');
    return;
  }
  if (existsSync(nm) && hasLock && have === null) {
    // node_modules installed by hand (no stamp yet): trust npm's own record of the install when
    // it is newer than the lock file, instead of deleting a working tree with `npm ci`.
    const hidden = path.join(nm, '.package-lock.json');
    if (existsSync(hidden) && statSync(hidden).mtimeMs >= statSync(lock).mtimeMs) {
      writeStamp(stampFile, want);
      say('dependencies up to date (existing install adopted)');
      return;
    }
  }
  const npmArgs = hasLock ? ['ci', '--no-fund', '--no-audit'] : ['install', '--no-fund', '--no-audit'];
  const why = !existsSync(nm) ? 'no node_modules' : hasLock ? 'package-lock.json changed' : 'no package-lock.json';
  say(`dependencies: npm ${npmArgs[0]} (${why})`);
  const [cmd, cmdArgs] = npmCommand(npmArgs);
  await timed(`npm ${npmArgs[0]}`, () => runOrThrow(cmd, cmdArgs, { cwd: root }));
  keepNativeBuild(root);
  writeStamp(stampFile, depsKey(root)); // npm install may have written the lock file just now
}
