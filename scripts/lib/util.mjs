// Small helpers for the start and test scripts. Plain Node, no npm dependencies:
// these run before node_modules exists.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Print one short line of progress. */
export function say(line) {
  process.stdout.write(`opslab: ${line}\n`);
}

/** Print an error and exit. */
export function die(message, code = 1) {
  process.stderr.write(`opslab: error: ${message}\n`);
  process.exit(code);
}

export function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Find an executable in PATH (plus the sbin directories, which a non-login PATH may lack). */
export function which(cmd) {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, cmd);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a command to completion with inherited stdio (or the given stdio).
 * Resolves with the exit code; rejects only when the command cannot be started.
 */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Run a command; throw an Error when it cannot start or does not exit 0. */
export async function runOrThrow(cmd, args, opts = {}) {
  let code;
  try {
    code = await run(cmd, args, opts);
  } catch (err) {
    throw new Error(`cannot run ${cmd}: ${err.message}`);
  }
  if (code !== 0) throw new Error(`${[cmd, ...args].join(' ')} failed (exit ${code})`);
}

/** `npm <args>`: under `npm start` / `npm test`, npm_execpath is the npm that runs us: use the same one. */
export function npmCommand(npmArgs) {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return [process.execPath, [execpath, ...npmArgs]];
  return ['npm', npmArgs];
}

/** Run fn; say how long it took when that was more than a second. */
export async function timed(label, fn) {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  if (ms > 1000) say(`${label} took ${fmtMs(ms)}`);
  return r;
}

/**
 * Every regular file under `dir` (relative paths, sorted), skipping directories whose
 * relative path is in `excludeDirs`.
 */
export function listFiles(dir, excludeDirs = []) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(dir, rel);
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!excludeDirs.includes(childRel) && e.name !== 'node_modules') walk(childRel);
      } else if (e.isFile() || e.isSymbolicLink()) {
        out.push(childRel);
      }
    }
  };
  walk('');
  return out.sort();
}

/** sha256 over the names and contents of the given files (relative to root); missing files count too. */
export function hashFiles(root, files) {
  const h = createHash('sha256');
  for (const rel of [...files].sort()) {
    h.update(`${rel}\0`);
    const abs = path.join(root, rel);
    h.update(existsSync(abs) ? readFileSync(abs) : Buffer.from('<missing>'));
    h.update('\0');
  }
  return h.digest('hex');
}

export function readStamp(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

export function writeStamp(file, value) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${value}\n`);
}

/** Format milliseconds as a short duration. */
export function fmtMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
