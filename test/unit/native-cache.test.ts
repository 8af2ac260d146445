// The compiled better-sqlite3 addon kept for the next install (scripts/lib/native-cache.mjs): packed under the name
// prebuild-install looks for, only after a compile, and a damaged entry replaced. Runs the installed prebuild-install
// and the real addon of this checkout's node_modules, with npm's cache pointed at a temporary directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepNativeBuild } from '../../scripts/lib/native-cache.mjs';

const real = path.resolve('node_modules/better-sqlite3');
const ADDON = 'build/Release/better_sqlite3.node';

describe('the compiled native addon kept in npm cache', () => {
  let tmp: string;
  let root: string;
  let cache: string;
  const savedCache = process.env.npm_config_cache;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opslab-native-'));
    cache = path.join(tmp, 'npm-cache');
    process.env.npm_config_cache = cache;
    // A checkout whose better-sqlite3 is a copy of the real one and whose other packages
    // (prebuild-install and what it needs) are this checkout's.
    root = path.join(tmp, 'checkout');
    const pkg = path.join(root, 'node_modules', 'better-sqlite3');
    fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
    for (const entry of fs.readdirSync(path.resolve('node_modules'))) {
      if (entry !== 'better-sqlite3' && entry !== '.bin') fs.symlinkSync(path.resolve('node_modules', entry), path.join(root, 'node_modules', entry));
    }
    // Copied, not linked: its code finds the addon next to itself.
    for (const entry of ['package.json', 'lib']) fs.cpSync(path.join(real, entry), path.join(pkg, entry), { recursive: true });
    fs.copyFileSync(path.join(real, ADDON), path.join(pkg, ADDON));
  });
  afterEach(() => {
    if (savedCache === undefined) delete process.env.npm_config_cache;
    else process.env.npm_config_cache = savedCache;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const entries = () => (fs.existsSync(path.join(cache, '_prebuilds')) ? fs.readdirSync(path.join(cache, '_prebuilds')) : []);
  const compiled = () => fs.mkdirSync(path.join(root, 'node_modules/better-sqlite3/build/Release/obj.target'));
  const version = JSON.parse(fs.readFileSync(path.join(real, 'package.json'), 'utf8')).version as string;
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;

  it('after a compile: packs the addon under the name prebuild-install looks for', () => {
    compiled();
    keepNativeBuild(root);
    const kept = entries();
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(new RegExp(`^[0-9a-f]{6}-${name.replace(/\./g, '\\.')}$`));
    const listing = execFileSync('tar', ['-tzf', path.join(cache, '_prebuilds', kept[0]!)], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual([ADDON]);
    // prebuild-install itself, as better-sqlite3's install runs it, finds the entry and puts this very addon back (it
    // looks in the cache before it would download; a downloaded one would differ from the one compiled here).
    const pkg = path.join(root, 'node_modules', 'better-sqlite3');
    fs.rmSync(path.join(pkg, 'build'), { recursive: true });
    execFileSync(process.execPath, [path.resolve('node_modules/prebuild-install/bin.js')], { cwd: pkg, stdio: 'ignore', timeout: 30_000 });
    expect(fs.readFileSync(path.join(pkg, ADDON))).toEqual(fs.readFileSync(path.join(real, ADDON)));
  });

  it('after an install that unpacked a prebuilt addon: writes nothing', () => {
    keepNativeBuild(root);
    expect(entries()).toEqual([]);
  });

  it('replaces a damaged entry after the compile it caused', () => {
    compiled();
    keepNativeBuild(root);
    const file = path.join(cache, '_prebuilds', entries()[0]!);
    const good = fs.statSync(file).size;
    fs.writeFileSync(file, 'not a tarball');
    keepNativeBuild(root);
    expect(entries()).toHaveLength(1);
    expect(fs.statSync(file).size).toBe(good);
  });

  it('an addon that does not load is not kept', () => {
    compiled();
    fs.writeFileSync(path.join(root, 'node_modules', 'better-sqlite3', ADDON), 'not an addon');
    keepNativeBuild(root);
    expect(entries()).toEqual([]);
  });
});
