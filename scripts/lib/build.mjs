// The server build, the images and the web UI, shared by `npm start` and `npm test`. Each step is skipped when
// its inputs did not change (stamps in .opslab-stamps/). Plain Node; the steps themselves use node_modules.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { hashFiles, listFiles, readStamp, run, runOrThrow, say, timed, writeStamp } from './util.mjs';

const bin = (root, name) => path.join(root, 'node_modules/.bin', name);

async function buildStep(root, name, files, outputCheck, cmd, cmdArgs) {
  const stampFile = path.join(root, '.opslab-stamps', name);
  const want = hashFiles(root, files);
  if (readStamp(stampFile) === want && existsSync(outputCheck)) {
    say(`${name}: up to date`);
    return;
  }
  say(`${name}: building`);
  await timed(name, () => runOrThrow(cmd, cmdArgs, { cwd: root }));
  writeStamp(stampFile, want);
}

/** tsc -p tsconfig.build.json into dist/ when server/src, a tsconfig or the lock file changed. */
export async function buildServer(root) {
  const inputs = [
    ...listFiles(path.join(root, 'server/src')).map((f) => `server/src/${f}`),
    ...listFiles(root).filter((f) => /^tsconfig.*\.json$/.test(f)),
    'package-lock.json',
  ];
  await buildStep(root, 'server build', inputs, path.join(root, 'dist/server/src'), bin(root, 'tsc'), ['-p', 'tsconfig.build.json']);
}

/** The sandbox, grader and base images that are missing or out of date (needs the built server and an engine). */
export async function buildImages(root) {
  const serverEntry = path.join(root, 'dist/server/src/main.js');
  if (!existsSync(serverEntry)) throw new Error('dist/server/src/main.js was not built: build the server first');
  say('images: node dist/server/src/main.js images');
  const code = await run(process.execPath, [serverEntry, 'images'], { cwd: root });
  if (code !== 0) throw new Error(`building the images failed (exit ${code})`);
}

/** vite build web into dist/web when web/ or the lock file changed. */
export async function buildWeb(root) {
  if (!existsSync(path.join(root, 'web'))) {
    say('web build: no web/ directory, skipped');
    return;
  }
  const inputs = [...listFiles(path.join(root, 'web'), ['dist']).map((f) => `web/${f}`), 'package-lock.json'];
  await buildStep(root, 'web build', inputs, path.join(root, 'dist/web/index.html'), bin(root, 'vite'), ['build', 'web']);
}
