import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The store's directory under the data directory. */
export const EXERCISE_VERSIONS_DIR = 'exercise-versions';

/** A version is the sha256 (hex) of the exercise directory's content; staff see its first 12 digits. */
export const VERSION_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The version of an exercise directory: sha256 over every file, directory and symlink under it (relative names,
 * whether a file is executable, contents; a symlink by its target), in name order. Whatever in the directory
 * changes, the version changes: instructions, workspace/, setup, checks/, hidden/, the files setup copies in,
 * the reference answers.
 */
export function exerciseVersion(dir: string): string {
  const h = createHash('sha256');
  const add = (rel: string) => {
    const abs = rel === '' ? dir : path.join(dir, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      if (rel !== '') h.update(`d ${rel}\0`);
      for (const name of fs.readdirSync(abs).sort()) add(rel === '' ? name : path.posix.join(rel, name));
    } else if (st.isSymbolicLink()) {
      h.update(`l ${rel}\0${fs.readlinkSync(abs)}\0`);
    } else if (st.isFile()) {
      h.update(`f ${rel} ${st.mode & 0o111 ? 'x' : '-'} ${st.size}\0`).update(fs.readFileSync(abs)).update('\0');
    }
  };
  add('');
  return h.digest('hex');
}

/** Thrown when an exercise directory changed while it was being copied into the store. */
export class ExerciseChangedError extends Error {
  constructor(id: string) {
    super(`exercise ${id} changed while its version was being stored`);
    this.name = 'ExerciseChangedError';
  }
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Immutable copies of every published exercise version, at `<root>/<id>/<version>/`: written once, atomically (a
 * copy into a temporary directory beside it, checked against its version, then renamed into place), never changed
 * afterwards. Content-addressed: publishing the same content again finds the copy already there and writes
 * nothing. An invite or attempt made with a version is provisioned and graded from its copy, whatever the exercise
 * directory holds by then.
 */
export class ExerciseVersionStore {
  constructor(readonly root: string) {}

  /** Where the copy of (id, version) is or would be; throws on an id or version that could leave the store. */
  dir(id: string, version: string): string {
    if (!ID_PATTERN.test(id)) throw new Error(`not an exercise id: ${JSON.stringify(id)}`);
    if (!VERSION_PATTERN.test(version)) throw new Error(`not an exercise version: ${JSON.stringify(version)}`);
    return path.join(this.root, id, version);
  }

  has(id: string, version: string): boolean {
    try {
      return fs.statSync(this.dir(id, version)).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Stores the content of `source` as a version of exercise `id`, and answers with that version and where its copy
   * is. The version is that of the copy, so what is stored is exactly what the version names; `expected` (the
   * version the caller computed from `source`) that differs means the directory changed meanwhile
   * (ExerciseChangedError, nothing stored).
   */
  publish(id: string, source: string, expected?: string): { version: string; dir: string; written: boolean } {
    const parent = path.join(this.root, id);
    if (!ID_PATTERN.test(id)) throw new Error(`not an exercise id: ${JSON.stringify(id)}`);
    if (expected && this.has(id, expected)) return { version: expected, dir: this.dir(id, expected), written: false };
    fs.mkdirSync(parent, { recursive: true });
    const tmp = path.join(parent, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      fs.cpSync(source, tmp, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
      const version = exerciseVersion(tmp);
      if (expected && version !== expected) throw new ExerciseChangedError(id);
      const dir = this.dir(id, version);
      if (this.has(id, version)) return { version, dir, written: false };
      try {
        fs.renameSync(tmp, dir);
      } catch (err) {
        // Another process stored the same version first: theirs is the same content.
        if (this.has(id, version)) return { version, dir, written: false };
        throw err;
      }
      return { version, dir, written: true };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Every stored (id, version). Temporary directories of an interrupted publish are not versions. */
  list(): { id: string; version: string }[] {
    const out: { id: string; version: string }[] = [];
    for (const id of readDir(this.root)) {
      if (!ID_PATTERN.test(id)) continue;
      for (const version of readDir(path.join(this.root, id))) if (VERSION_PATTERN.test(version)) out.push({ id, version });
    }
    return out;
  }

  /** Removes a stored version (retention); answers whether there was one. */
  remove(id: string, version: string): boolean {
    const dir = this.dir(id, version);
    if (!this.has(id, version)) return false;
    // Renamed out of place first, so that a reader never sees half a copy.
    const doomed = path.join(this.root, id, `.tmp-rm-${process.pid}-${randomBytes(6).toString('hex')}`);
    fs.renameSync(dir, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
    return true;
  }

  /** Leftovers of publishes or removals a stopped process did not finish (older than `minAgeMs`). */
  sweep(minAgeMs = 3_600_000): void {
    for (const id of readDir(this.root)) {
      for (const name of readDir(path.join(this.root, id))) {
        if (!name.startsWith('.tmp-')) continue;
        const abs = path.join(this.root, id, name);
        const st = fs.lstatSync(abs, { throwIfNoEntry: false });
        if (st && Date.now() - st.mtimeMs >= minAgeMs) fs.rmSync(abs, { recursive: true, force: true });
      }
    }
  }
}

function readDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
