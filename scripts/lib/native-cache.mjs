// The native addon that `npm ci` compiles (better-sqlite3: its prebuilt binary cannot always be downloaded, and
// compiling SQLite takes one to two minutes on 2 cores), kept for the next install on this machine.
// better-sqlite3 installs with `prebuild-install || node-gyp rebuild`, and prebuild-install looks in npm's cache
// (<cache>/_prebuilds/<name made from the download URL>) before it downloads. After an install that compiled the
// addon, the addon is packed there under the name prebuild-install will look for: the next `npm ci` of the same
// version, for the same Node ABI, platform and architecture, unpacks it instead of compiling. prebuild-install
// loads what it unpacks before it accepts it, so a damaged entry means a compile, as before, never a broken install.
// Plain Node, no npm dependencies of its own: it runs the installed prebuild-install's code in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { say } from './util.mjs';

const PACKAGE = 'better-sqlite3';
const ADDON = 'build/Release/better_sqlite3.node';
const COMPILED_MARK = 'build/Release/obj.target';

/** Where prebuild-install would look for this install's prebuilt addon (null: it could not be worked out). */
function cachedPrebuildPath(pkgDir) {
  // The same computation as prebuild-install's own (rc from the package and the environment, then the URL).
  const script =
    "const pkg = require('./package.json');" +
    "const rc = require('prebuild-install/rc')(pkg);" +
    "const util = require('prebuild-install/util');" +
    'process.stdout.write(util.cachedPrebuild(util.getDownloadUrl({ ...rc, pkg })));';
  const r = spawnSync(process.execPath, ['-e', script], { cwd: pkgDir, encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.startsWith('/') ? r.stdout : null;
}

/** Whether the package's addon loads in this Node (and opens a database). */
function addonLoads(root) {
  const script = `const D = require(${JSON.stringify(PACKAGE)}); new D(':memory:').prepare('select 1').get();`;
  return spawnSync(process.execPath, ['-e', script], { cwd: root, timeout: 30_000 }).status === 0;
}

/**
 * After `npm ci`: when the install compiled the addon (no usable entry was in the cache: none, or a damaged one),
 * packs it into npm's cache of prebuilt binaries. Never throws: a cache that cannot be written only costs the next
 * install a compile.
 */
export function keepNativeBuild(root) {
  try {
    const pkgDir = path.join(root, 'node_modules', PACKAGE);
    // node-gyp leaves its object files next to the addon; an unpacked prebuilt binary comes alone.
    if (!existsSync(path.join(pkgDir, ADDON)) || !existsSync(path.join(pkgDir, COMPILED_MARK))) return;
    const target = cachedPrebuildPath(pkgDir);
    if (!target || !addonLoads(root)) return;
    mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    const r = spawnSync('tar', ['-czf', tmp, '-C', pkgDir, ADDON], { stdio: 'ignore', timeout: 60_000 });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      return;
    }
    renameSync(tmp, target);
    say(`kept the compiled ${PACKAGE} addon for the next install on this machine: ${target}`);
  } catch {
    // Best effort (a read-only or missing cache directory): nothing to report.
  }
}
