// `npm run exercise -- new <id>`: a new exercise directory from the template next to this file (template/), every
// part of the format in place and explained in comments, ready for `validate` and `test`.
import fs from 'node:fs';
import path from 'node:path';
import { EXERCISE_SCHEMA_FILE, repoRoot } from '../../paths.js';

/** The template: an exercise directory whose text files hold {{placeholders}}. Outside exercises/, so no catalog loads it. */
export const TEMPLATE_DIR = (): string => path.join(repoRoot(), 'server', 'src', 'cli', 'scaffold', 'template');
export const DEFAULT_SCAFFOLD_IMAGE = 'base';

/** Why nothing was written: bad input (an invalid id, a directory that exists...). The CLI exits with code 2. */
export class ScaffoldRefusal extends Error {
  override name = 'ScaffoldRefusal';
}

export interface ScaffoldOptions {
  /** The exercises directory the new exercise goes into (it must exist). */
  exercisesDir: string;
  id: string;
  /** A sandbox image (sandboxes/<image>/Dockerfile); default `base`. */
  image?: string;
  /** Default: the id in words ("disk-full" -> "Disk full"). */
  title?: string;
  /** Whether a sandbox image exists; default: sandboxes/<image>/Dockerfile in the checkout. */
  imageExists?: (image: string) => boolean;
}

export interface ScaffoldResult {
  dir: string;
  /** The files written, relative to `dir`, sorted. */
  files: string[];
}

interface SchemaPatterns {
  id: RegExp;
  image: RegExp;
  titleMin: number;
  titleMax: number;
}

/** The id, image and title rules, read from the exercise schema so that they never drift from it. */
function schemaRules(): SchemaPatterns {
  const schema = JSON.parse(fs.readFileSync(EXERCISE_SCHEMA_FILE(), 'utf8')) as {
    properties: { id: { pattern: string }; image: { pattern: string }; title: { minLength: number; maxLength: number } };
  };
  return {
    id: new RegExp(schema.properties.id.pattern, 'u'),
    image: new RegExp(schema.properties.image.pattern, 'u'),
    titleMin: schema.properties.title.minLength,
    titleMax: schema.properties.title.maxLength,
  };
}

export function defaultTitle(id: string): string {
  const words = id.replace(/-+/g, ' ').trim();
  const title = words.charAt(0).toUpperCase() + words.slice(1);
  return title.length >= 3 ? title : `Exercise ${id}`;
}

const defaultImageExists = (image: string) => fs.existsSync(path.join(repoRoot(), 'sandboxes', image, 'Dockerfile'));

/** Checks the options; throws a ScaffoldRefusal saying what is wrong. Reads, never writes. */
function checkOptions(opts: ScaffoldOptions): { id: string; image: string; title: string; target: string } {
  const rules = schemaRules();
  const { id } = opts;
  if (!rules.id.test(id)) {
    throw new ScaffoldRefusal(
      `invalid exercise id "${id}": 2 to 63 lowercase letters, digits and dashes, starting with a letter or a digit (${rules.id.source})`,
    );
  }
  const dir = path.resolve(opts.exercisesDir);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ScaffoldRefusal(`the exercises directory ${dir} does not exist`);
  }
  const target = path.join(dir, id);
  if (fs.lstatSync(target, { throwIfNoEntry: false })) {
    throw new ScaffoldRefusal(`${target} already exists: pick another id, or remove it first`);
  }
  const image = opts.image ?? DEFAULT_SCAFFOLD_IMAGE;
  if (!rules.image.test(image)) throw new ScaffoldRefusal(`invalid image name "${image}" (${rules.image.source})`);
  if (!(opts.imageExists ?? defaultImageExists)(image)) {
    throw new ScaffoldRefusal(`no sandbox image "${image}": sandboxes/${image}/Dockerfile does not exist`);
  }
  const title = opts.title ?? defaultTitle(id);
  if (/[\u0000-\u001f\u007f]/u.test(title)) throw new ScaffoldRefusal('the title must be one line without control characters');
  if (title.trim().length < rules.titleMin || title.length > rules.titleMax) {
    throw new ScaffoldRefusal(`the title must have ${rules.titleMin} to ${rules.titleMax} characters (it has ${title.length})`);
  }
  return { id, image, title, target };
}

/** Replaces every {{name}} in a template file; a placeholder with no value is a bug in the template. */
export function render(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{([a-z_]+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: unknown placeholder {{${name}}}`);
    return value;
  });
}

/** Copies the template directory, rendering each file and keeping its execute bits. */
function copyTemplate(from: string, to: string, values: Record<string, string>, rel = ''): string[] {
  const written: string[] = [];
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    const relName = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      written.push(...copyTemplate(src, dst, values, relName));
    } else if (entry.isFile()) {
      const mode = fs.statSync(src).mode & 0o111 ? 0o755 : 0o644;
      fs.writeFileSync(dst, render(fs.readFileSync(src, 'utf8'), values, src), { mode });
      fs.chmodSync(dst, mode);
      written.push(relName);
    }
  }
  return written;
}

/**
 * Creates `<exercisesDir>/<id>/` from the template. Refuses (ScaffoldRefusal, nothing written) an id the schema does
 * not allow, an existing directory, an unknown image or a bad title. The files are written in a hidden staging
 * directory beside the target and renamed into place at the end: a failure half-way leaves nothing behind.
 */
export function scaffoldExercise(opts: ScaffoldOptions): ScaffoldResult {
  const { id, image, title, target } = checkOptions(opts);
  const values = { id, image, title, title_yaml: JSON.stringify(title) };
  const staging = fs.mkdtempSync(path.join(path.dirname(target), `.${id}.new-`));
  try {
    const files = copyTemplate(TEMPLATE_DIR(), staging, values);
    fs.chmodSync(staging, 0o755);
    if (fs.lstatSync(target, { throwIfNoEntry: false })) throw new ScaffoldRefusal(`${target} already exists`);
    fs.renameSync(staging, target);
    return { dir: target, files: files.sort() };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
