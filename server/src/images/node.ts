// Build `node:20-bookworm-slim` here when it cannot be pulled: the Debian base plus this host's
// own Node binary (a single executable linked only against glibc and libstdc++), its npm and its
// headers (so node-gyp can compile native modules without downloading them).
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImageEngine } from '../sandbox/image-engine.js';
import { buildImageFromDir, type Log } from './engine.js';
import { hostExtraCaFiles, which } from './host.js';

/** The directory of the npm package that `npm` runs, or null. */
export function findNpmRoot(): string | null {
  const candidates: string[] = [path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm')];
  const npmBin = which('npm');
  if (npmBin) {
    try {
      // .../lib/node_modules/npm/bin/npm-cli.js -> .../lib/node_modules/npm
      candidates.push(path.resolve(path.dirname(realpathSync(npmBin)), '..'));
    } catch {
      // dangling link
    }
  }
  for (const dir of candidates) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'npm' && existsSync(path.join(dir, 'bin/npm-cli.js'))) return dir;
    } catch {
      // next
    }
  }
  return null;
}

/** Node's headers next to the binary (<prefix>/include/node), or null. */
export function findNodeHeaders(): string | null {
  const dir = path.resolve(path.dirname(realpathSync(process.execPath)), '../include/node');
  return existsSync(path.join(dir, 'common.gypi')) ? dir : null;
}

export async function buildNodeBase(
  engine: ImageEngine,
  tag: string,
  opts: { log: Log; debianTag: string },
): Promise<void> {
  const { log } = opts;
  const major = Number(process.versions.node.split('.')[0]);
  const wanted = Number(/^node:(\d+)/.exec(tag)?.[1] ?? major);
  if (wanted !== major) {
    throw new Error(`${tag} is not in the engine and cannot be pulled, and this host's Node is ${process.version}, not ${wanted}`);
  }
  const ctx = mkdtempSync(path.join(tmpdir(), 'opslab-node-image-'));
  try {
    copyFileSync(realpathSync(process.execPath), path.join(ctx, 'node'));
    chmodSync(path.join(ctx, 'node'), 0o755);
    const lines = [
      `FROM ${opts.debianTag}`,
      `ENV NODE_VERSION=${process.versions.node}`,
      'COPY node /usr/local/bin/node',
    ];
    const npmRoot = findNpmRoot();
    if (npmRoot) {
      cpSync(npmRoot, path.join(ctx, 'npm'), { recursive: true, verbatimSymlinks: true });
      lines.push(
        'COPY npm /usr/local/lib/node_modules/npm',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm' +
          ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
      );
    } else {
      log('  no npm found next to this Node: the image gets node only');
    }
    const headers = findNodeHeaders();
    if (headers) {
      cpSync(headers, path.join(ctx, 'include/node'), { recursive: true, verbatimSymlinks: true });
      lines.push('COPY include/node /usr/local/include/node');
    }
    const cas = hostExtraCaFiles();
    if (cas.length) {
      writeFileSync(path.join(ctx, 'extra-ca.pem'), cas.map((f) => readFileSync(f, 'utf8').trim()).join('\n') + '\n');
      lines.push('COPY extra-ca.pem /usr/local/etc/opslab-extra-ca.pem', 'ENV NODE_EXTRA_CA_CERTS=/usr/local/etc/opslab-extra-ca.pem');
    }
    lines.push(`RUN node --version && ${npmRoot ? 'npm --version && ' : ''}node -e "require('node:crypto').createHash('sha256')"`);
    lines.push('CMD ["node"]');
    writeFileSync(path.join(ctx, 'Dockerfile'), `${lines.join('\n')}\n`);
    log(`  node ${process.version} from ${process.execPath}${npmRoot ? `, npm from ${npmRoot}` : ''}${headers ? ', headers' : ''}`);
    await buildImageFromDir(engine, ctx, tag, { log, labels: { 'opslab.base-source': 'host-node' } });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
