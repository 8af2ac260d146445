import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The opslab checkout (or install) root: the nearest directory above this module with opslab's package.json. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string };
      if (pkg.name === 'opslab') return (cached = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the opslab root (package.json named "opslab")');
    dir = parent;
  }
}

export const EXERCISE_SCHEMA_FILE = () => path.join(repoRoot(), 'exercises', 'exercise.schema.json');
