// npm run k8s:manifests: writes the generated files of deploy/kubernetes/ (see
// server/src/sandbox/drivers/kubernetes/manifests.ts) and says which changed.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedManifests } from '../server/src/sandbox/drivers/kubernetes/manifests.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'kubernetes');
for (const { path: name, text } of generatedManifests()) {
  const file = path.join(dir, name);
  let before: string | null = null;
  try {
    before = readFileSync(file, 'utf8');
  } catch {
    // not written yet
  }
  if (before === text) {
    console.log(`unchanged  deploy/kubernetes/${name}`);
    continue;
  }
  writeFileSync(file, text);
  console.log(`written    deploy/kubernetes/${name}`);
}
