import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../../server/src/paths.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the web UI into dist/web when it is missing or older than its sources (page tests serve it). */
export function ensureWebBuilt(): void {
  const root = repoRoot();
  const webDir = path.join(root, 'web');
  if (!fs.existsSync(path.join(webDir, 'index.html'))) return;
  const index = path.join(root, 'dist', 'web', 'index.html');
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestMtime(webDir)) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
