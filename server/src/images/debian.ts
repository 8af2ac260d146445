// Build `debian:bookworm-slim` here when it cannot be pulled: debootstrap a minimal rootfs from
// the host's Debian mirror and import it into the engine.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ImageEngine } from '../sandbox/image-engine.js';
import { DEBIAN_SUITE, hostAptDateSettings, imageAptSources, readHostAptSources, renderDeb822, resolveDebianMirror } from './apt.js';
import type { Log } from './engine.js';
import { hostExtraCaFiles, isRoot, runCommand, which } from './host.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Install debootstrap (and Debian's keyring) with apt-get when missing and allowed. */
async function ensureDebootstrap(log: Log): Promise<string> {
  const found = which('debootstrap');
  if (found && existsSync(KEYRING)) return found;
  const missing = [...(found ? [] : ['debootstrap']), ...(existsSync(KEYRING) ? [] : ['debian-archive-keyring'])];
  if (!isRoot() || !which('apt-get')) {
    throw new Error(
      `${missing.join(' and ')} missing: install ${missing.join(' ')} (as root: apt-get install -y ${missing.join(' ')}), ` +
        'or make debian:bookworm-slim available to the engine (docker load / docker pull)',
    );
  }
  log(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = await runCommand('apt-get', ['update', '-q'], { env });
  if (upd.code !== 0) throw new Error(`apt-get update failed:\n${upd.tail}`);
  const inst = await runCommand('apt-get', ['install', '-y', '-q', ...missing], { env });
  if (inst.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${inst.tail}`);
  const now = which('debootstrap');
  if (!now) throw new Error('debootstrap is still missing after apt-get install');
  return now;
}

/** Unmount whatever a failed debootstrap left mounted below `dir`, deepest first. */
async function unmountBelow(dir: string): Promise<void> {
  let mounts: string[] = [];
  try {
    mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((m) => m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  } catch {
    return;
  }
  for (const m of mounts) await runCommand('umount', ['-l', m]);
}

/** Make the fresh rootfs look like the official slim image and use the host's mirror settings. */
function customizeRootfs(rootfs: string, mirror: string, log: Log): void {
  const p = (rel: string) => path.join(rootfs, rel);
  // apt sources: deb822 like the official image, mirroring the host's bookworm entries.
  const sources = imageAptSources(mirror, readHostAptSources());
  writeFileSync(p('etc/apt/sources.list.d/debian.sources'), renderDeb822(sources, existsSync(p(KEYRING.slice(1))) ? KEYRING : null));
  rmSync(p('etc/apt/sources.list'), { force: true });
  log(`  apt sources: ${sources.map((s) => `${s.uris.join(' ')} ${s.suites.join(',')}`).join('; ')}`);

  // The host's Release date checks (a mirror serving an archived snapshot needs them relaxed).
  const dateSettings = hostAptDateSettings();
  if (dateSettings.length) {
    writeFileSync(p('etc/apt/apt.conf.d/99opslab-host-dates'), `// copied from the host's apt configuration\n${dateSettings.join('\n')}\n`);
    log(`  apt date checks from the host: ${dateSettings.join(' ')}`);
  }

  // Slim: no docs, man pages or translations; apt cleans its caches (as in the official slim image).
  writeFileSync(
    p('etc/dpkg/dpkg.cfg.d/docker'),
    [
      'path-exclude /usr/share/doc/*',
      'path-include /usr/share/doc/*/copyright',
      'path-exclude /usr/share/man/*',
      'path-exclude /usr/share/groff/*',
      'path-exclude /usr/share/info/*',
      'path-exclude /usr/share/lintian/*',
      'path-exclude /usr/share/linda/*',
      'path-exclude /usr/share/locale/*',
      '',
    ].join('\n'),
  );
  writeFileSync(
    p('etc/apt/apt.conf.d/docker-clean'),
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n' +
      'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n',
  );
  writeFileSync(p('etc/apt/apt.conf.d/docker-no-languages'), 'Acquire::Languages "none";\n');
  writeFileSync(p('etc/apt/apt.conf.d/docker-autoremove-suggests'), 'Apt::AutoRemove::SuggestsImportant "false";\n');
  for (const dir of ['usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/groff']) {
    rmSync(p(dir), { recursive: true, force: true });
    mkdirSync(p(dir), { recursive: true });
  }
  const docDir = p('usr/share/doc');
  for (const pkg of existsSync(docDir) ? readdirSync(docDir) : []) {
    for (const f of readdirSync(path.join(docDir, pkg), { withFileTypes: true })) {
      if (f.name !== 'copyright') rmSync(path.join(docDir, pkg, f.name), { recursive: true, force: true });
    }
  }
  for (const dir of ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'tmp', 'var/tmp']) {
    const abs = p(dir);
    for (const f of existsSync(abs) ? readdirSync(abs) : []) {
      if (f !== 'partial' && f !== 'lock') rmSync(path.join(abs, f), { recursive: true, force: true });
    }
  }
  rmSync(p('debootstrap'), { recursive: true, force: true });
  // No trace of the build host: the engine provides these at run time.
  writeFileSync(p('etc/hostname'), '');
  rmSync(p('etc/resolv.conf'), { force: true });

  // Certificates the host trusts locally (e.g. a TLS-intercepting proxy): they take effect when an
  // image installs ca-certificates, so TLS clients in images trust what the host trusts.
  const cas = hostExtraCaFiles();
  if (cas.length) {
    mkdirSync(p('usr/local/share/ca-certificates'), { recursive: true });
    for (const ca of cas) copyFileSync(ca, p(`usr/local/share/ca-certificates/${path.basename(ca)}`));
    log(`  local CA certificates from the host: ${cas.map((c) => path.basename(c)).join(', ')}`);
  }
}

/** Stream the rootfs as a tar archive into the engine as `tag`. */
async function importRootfs(engine: ImageEngine, rootfs: string, tag: string, changes: string[]): Promise<void> {
  const tar = spawn('tar', ['--numeric-owner', '-C', rootfs, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
  const tarExit = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  await engine.importImage(tar.stdout, tag, changes);
  const code = await tarExit;
  if (code !== 0) throw new Error(`tar of the rootfs failed (exit ${code}): ${tarErr.slice(-500)}`);
}

/**
 * debootstrap --variant=minbase bookworm into a temporary directory, slim it down, import it as
 * `tag` with CMD ["bash"], then check that apt-get update works inside it.
 */
export async function buildDebianBase(
  engine: ImageEngine,
  tag: string,
  opts: { log: Log; debianMirror?: string },
): Promise<void> {
  const { log } = opts;
  if (!isRoot()) {
    throw new Error(
      `${tag} is not in the engine and cannot be pulled; building it with debootstrap needs root: ` +
        'run `sudo npm run images` once, or docker load the image from a machine that has it',
    );
  }
  const mirror = resolveDebianMirror(opts.debianMirror);
  const debootstrap = await ensureDebootstrap(log);
  const work = mkdtempSync(path.join(tmpdir(), 'opslab-rootfs-'));
  const rootfs = path.join(work, 'rootfs');
  try {
    log(`  debootstrap --variant=minbase ${DEBIAN_SUITE} from ${mirror}`);
    const t0 = Date.now();
    const res = await runCommand(debootstrap, ['--variant=minbase', DEBIAN_SUITE, rootfs, mirror], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (res.code !== 0) {
      let detail = res.tail;
      try {
        detail += `\n--- debootstrap.log ---\n${readFileSync(path.join(rootfs, 'debootstrap/debootstrap.log'), 'utf8').slice(-2000)}`;
      } catch {
        // no log
      }
      throw new Error(`debootstrap failed (exit ${res.code}):\n${detail}`);
    }
    log(`  debootstrap done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await unmountBelow(work);
    customizeRootfs(rootfs, mirror, log);
    await importRootfs(engine, rootfs, tag, ['CMD ["bash"]', `LABEL opslab.base-source=debootstrap`]);
  } finally {
    await unmountBelow(work);
    rmSync(work, { recursive: true, force: true });
  }
  if (!(await engine.inspectImage(tag))) throw new Error(`importing ${tag} left no image`);

  // Every Dockerfile starts with apt-get update: make sure it works here and now.
  const check = await engine.runOnce(tag, ['sh', '-c', 'apt-get update -q >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }'], {
    networkMode: 'host',
    timeoutMs: 180_000,
  });
  if (check.exitCode !== 0) {
    await engine.removeImage(tag).catch(() => {});
    throw new Error(`apt-get update fails inside the freshly built ${tag}:\n${check.output.slice(-2000)}`);
  }
  log('  apt-get update works inside the image');
}
