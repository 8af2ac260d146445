#!/usr/bin/env node
// `npm start`: install what is missing, build what changed, then run the server.
//   node scripts/start.mjs                  everything, then serve
//   node scripts/start.mjs --images-only    stop after the images are built (`npm run images`)
//   node scripts/start.mjs --deps-only      stop after the npm dependencies
// Plain Node ESM with no npm dependencies: it runs before node_modules exists.
// Every step is skipped when its inputs did not change, so a second run only starts the server.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDockerEngine } from './lib/docker.mjs';
import { die, fmtMs, hashFiles, listFiles, readStamp, run, runOrDie, say, writeStamp } from './lib/util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (!['--images-only', '--deps-only', '--help', '-h'].includes(a)) die(`unknown option ${a} (try --help)`);
}
if (args.has('--help') || args.has('-h')) {
  process.stdout.write('usage: node scripts/start.mjs [--images-only | --deps-only]\n');
  process.exit(0);
}

const dataDir = path.resolve(process.env.OPSLAB_DATA_DIR || 'data');
const stampDir = path.join(root, '.opslab-stamps');
const serverEntry = path.join(root, 'dist/server/src/main.js');

function timed(label, fn) {
  const t0 = performance.now();
  return Promise.resolve(fn()).then((r) => {
    const ms = performance.now() - t0;
    if (ms > 1000) say(`${label} took ${fmtMs(ms)}`);
    return r;
  });
}

// a. Node version ---------------------------------------------------------------------------
{
  const [maj, min] = process.versions.node.split('.').map(Number);
  if (maj < 20 || (maj === 20 && min < 11)) {
    die(`Node.js >= 20.11 is needed, this is ${process.version} (${process.execPath}). ` +
      'Install Node 20 LTS or newer and run again.');
  }
  say(`node ${process.version}`);
}

// b. npm dependencies --------------------------------------------------------------------------
function npmCommand(npmArgs) {
  // Under `npm start`, npm_execpath is the npm that runs us: use the same one.
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return [process.execPath, [execpath, ...npmArgs]];
  return ['npm', npmArgs];
}

/** What node_modules was installed from: the lock file (or package.json without one) and Node's ABI. */
function depsKey() {
  const lock = path.join(root, 'package-lock.json');
  const source = existsSync(lock) ? lock : path.join(root, 'package.json');
  // The native modules (better-sqlite3) are tied to Node's ABI: a new Node needs a fresh install too.
  return `${createHash('sha256').update(readFileSync(source)).digest('hex')} node-abi-${process.versions.modules}`;
}

async function ensureDeps() {
  const lock = path.join(root, 'package-lock.json');
  const nm = path.join(root, 'node_modules');
  const stampFile = path.join(nm, '.opslab-deps-stamp');
  const hasLock = existsSync(lock);
  const want = depsKey();
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
  await timed(`npm ${npmArgs[0]}`, () => runOrDie(cmd, cmdArgs));
  writeStamp(stampFile, depsKey()); // npm install may have written the lock file just now
}
await ensureDeps();
if (args.has('--deps-only')) process.exit(0);

// c. Docker engine ---------------------------------------------------------------------------
try {
  const { started, endpoint } = await ensureDockerEngine({ dataDir });
  if (!started) say(`docker engine answers at ${endpoint.label}`);
} catch (err) {
  die(err.message);
}

// d. Server build, then images ------------------------------------------------------------------
const bin = (name) => path.join(root, 'node_modules/.bin', name);

async function buildStep(name, files, outputCheck, cmd, cmdArgs) {
  const stampFile = path.join(stampDir, name);
  const want = hashFiles(root, files);
  if (readStamp(stampFile) === want && existsSync(outputCheck)) {
    say(`${name}: up to date`);
    return;
  }
  say(`${name}: building`);
  await timed(name, () => runOrDie(cmd, cmdArgs));
  writeStamp(stampFile, want);
}

const serverInputs = [
  ...listFiles(path.join(root, 'server/src')).map((f) => `server/src/${f}`),
  ...listFiles(root).filter((f) => /^tsconfig.*\.json$/.test(f)),
  'package-lock.json',
];
await buildStep('server build', serverInputs, path.join(root, 'dist/server/src'), bin('tsc'), ['-p', 'tsconfig.build.json']);

if (existsSync(serverEntry)) {
  say('images: node dist/server/src/main.js images');
  const code = await run(process.execPath, [serverEntry, 'images']);
  if (code !== 0) die(`building the images failed (exit ${code})`);
} else {
  // The server entry point is not there (yet): call the image module directly.
  const mod = path.join(root, 'dist/server/src/images/index.js');
  const engineMod = path.join(root, 'dist/server/src/sandbox/drivers/docker/image-engine.js');
  if (!existsSync(mod) || !existsSync(engineMod)) die('neither dist/server/src/main.js nor dist/server/src/images/index.js was built');
  say('images: (no server entry point yet) calling ensureImages directly');
  const script = `
    const { ensureImages } = await import(${JSON.stringify(mod)});
    const { DockerImageEngine } = await import(${JSON.stringify(engineMod)});
    const res = await ensureImages({ engine: new DockerImageEngine(), repoRoot: process.cwd(), log: (l) => console.log('  ' + l) });
    console.log('  ' + res.filter((r) => r.built).length + ' of ' + res.length + ' images built');`;
  const code = await run(process.execPath, ['--input-type=module', '-e', script]);
  if (code !== 0) die(`building the images failed (exit ${code})`);
}
if (args.has('--images-only')) process.exit(0);

// e. Web UI --------------------------------------------------------------------------------
if (existsSync(path.join(root, 'web'))) {
  const webInputs = [
    ...listFiles(path.join(root, 'web'), ['dist']).map((f) => `web/${f}`),
    'package-lock.json',
  ];
  await buildStep('web build', webInputs, path.join(root, 'dist/web/index.html'), bin('vite'), ['build', 'web']);
} else {
  say('web build: no web/ directory, skipped');
}

// f. Serve -------------------------------------------------------------------------------------
if (!existsSync(serverEntry)) die('dist/server/src/main.js is missing: the server entry point was not built');
say('starting the server (node dist/server/src/main.js serve)');
// The server gets its own process group (detached) so that a Ctrl-C reaches it exactly once,
// through the forwarding below, as if this script had exec'd it.
const child = spawn(process.execPath, [serverEntry, 'serve'], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
child.on('error', (err) => die(`cannot start the server: ${err.message}`));
child.on('exit', (code, signal) => {
  const signum = signal ? { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 1 : 0;
  process.exit(code ?? 128 + signum);
});
