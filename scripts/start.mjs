#!/usr/bin/env node
// `npm start`: install what is missing, build what changed, then run the server.
//   node scripts/start.mjs                  everything, then serve
//   node scripts/start.mjs --images-only    stop after the images are built (`npm run images`)
//   node scripts/start.mjs --deps-only      stop after the npm dependencies
// Plain Node ESM with no npm dependencies: it runs before node_modules exists.
// Every step is skipped when its inputs did not change, so a second run only starts the server.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImages, buildServer, buildWeb } from './lib/build.mjs';
import { ensureDeps, nodeVersionProblem } from './lib/deps.mjs';
import { ensureDockerEngine } from './lib/docker.mjs';
import { die, say } from './lib/util.mjs';

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
const serverEntry = path.join(root, 'dist/server/src/main.js');

/** Run a step; a failure ends the script with its message. */
async function step(fn) {
  try {
    return await fn();
  } catch (err) {
    die(err.message);
  }
}

// a. Node version ---------------------------------------------------------------------------
{
  const problem = nodeVersionProblem();
  if (problem) die(problem);
  say(`node ${process.version}`);
}

// b. npm dependencies --------------------------------------------------------------------------
await step(() => ensureDeps(root));
if (args.has('--deps-only')) process.exit(0);

// c. Docker engine ---------------------------------------------------------------------------
await step(async () => {
  const { started, endpoint } = await ensureDockerEngine({ dataDir });
  if (!started) say(`docker engine answers at ${endpoint.label}`);
});

// d. Server build, then images ------------------------------------------------------------------
await step(() => buildServer(root));
await step(() => buildImages(root));
if (args.has('--images-only')) process.exit(0);

// e. Web UI --------------------------------------------------------------------------------
await step(() => buildWeb(root));

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
