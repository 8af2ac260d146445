// What a build job hands the checks about the image it built, read from the engine's export of that image (`docker
// save`: manifest.json, the image's configuration, one uncompressed tar per layer), streamed once and never kept
// whole: the image's configuration, one entry per layer naming the Dockerfile step that made it, each layer's
// files (a bounded list), and the contents of the files the exercise names (`inspect` globs) in the layers the
// Dockerfile made, up to a per-file and a total cap. Every cap that was reached is said so (`truncated`).
// Pure apart from the stream: no engine, no driver.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { DockerfileInstruction } from '../sandbox/image-build-spec.js';

/** Files listed per layer; past it the list stops and says so. */
export const MAX_LAYER_FILES = 5000;
/** Bytes kept of one inspected file. */
export const MAX_INSPECT_FILE_BYTES = 256 * 1024;
/** Bytes kept of all inspected files together. */
export const MAX_INSPECT_TOTAL_BYTES = 8 * 1024 * 1024;
/** Inspected files kept in all. */
export const MAX_INSPECT_FILES = 1000;
/** A JSON file of the export (manifest, configuration) larger than this is not read. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

export interface LayerFile {
  /** Absolute; for a whiteout, the path it deletes. */
  path: string;
  size: number;
  /** `deleted`: a whiteout (a later layer deleting the path); `opaque`: a directory whose earlier contents are hidden. */
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other' | 'deleted' | 'opaque';
  whiteout: boolean;
  /** Inspected (its contents are under layers/<n>/): true, or 'partial' when cut at the per-file cap. */
  extracted?: true | 'partial';
}

export interface BuildLayer {
  /** The Dockerfile step that made it (its text), `FROM <image>` for the base image's, or `(image configuration)`. */
  instruction: string;
  /** Its Dockerfile line; null for the base image's layers and the configuration's. */
  line: number | null;
  /** A layer of the base image (its files are not listed). */
  base: boolean;
  /** Bytes of the files it holds. */
  sizeBytes: number;
  files: LayerFile[];
  /** The file list stopped at MAX_LAYER_FILES. */
  truncated: boolean;
}

export interface ImageSummary {
  user: string;
  workdir: string;
  env: string[];
  cmd: string[] | null;
  entrypoint: string[] | null;
  exposedPorts: string[];
  healthcheck: { test: string[]; intervalNs?: number; timeoutNs?: number; startPeriodNs?: number; retries?: number } | null;
  /** The image's labels (the platform's own `opslab.*` labels left out). */
  labels: Record<string, string>;
  /** Bytes of the files of all its layers. */
  sizeBytes: number;
}

export interface InspectedFile {
  layer: number;
  path: string;
  content: Buffer;
}

export interface ImageReport {
  image: ImageSummary;
  layers: BuildLayer[];
  inspected: InspectedFile[];
  /** An inspect cap (files, bytes) was reached: some matching contents are missing. */
  inspectTruncated: boolean;
}

/** One history entry the build's own steps made, in order, for the image's final stage and the stages it starts from. */
interface ChainEntry {
  instruction: string;
  line: number | null;
}

/**
 * The history entries the bounded build (sandbox/drivers/docker/image-build.ts) adds for the last stage: the
 * entries of the stage it starts from (its base image's own first), then one per RUN and COPY, then one for the
 * configuration it seals the stage with. `base`: the FROM of the image the chain starts from (null: scratch).
 */
export function buildChain(instructions: readonly DockerfileInstruction[]): { base: string | null; entries: ChainEntry[] } {
  const stages: DockerfileInstruction[][] = [];
  for (const ins of instructions) {
    if (ins.kind === 'FROM') stages.push([ins]);
    else stages[stages.length - 1]?.push(ins);
  }
  const chain = (index: number): { base: string | null; entries: ChainEntry[] } => {
    const [from, ...rest] = stages[index]!;
    if (from?.kind !== 'FROM') return { base: null, entries: [] };
    let start: { base: string | null; entries: ChainEntry[] } = { base: null, entries: [] };
    if (from.base.kind === 'stage' && from.base.index < index) start = chain(from.base.index);
    else if (from.base.kind === 'image') start = { base: from.text, entries: [] };
    const own = rest.filter((i) => i.kind === 'RUN' || i.kind === 'COPY').map((i) => ({ instruction: i.text, line: i.line }));
    // An empty scratch stage gets an empty imported layer before its configuration.
    const empty = from.base.kind === 'scratch' && own.length === 0 ? [{ instruction: from.text, line: from.line }] : [];
    return { base: start.base, entries: [...start.entries, ...own, ...empty, { instruction: '(image configuration)', line: null }] };
  };
  return stages.length ? chain(stages.length - 1) : { base: null, entries: [] };
}

/** `*` within a name, `**` across directories, `?` one character; anchored, matched against absolute paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

type Entry = Readable & { header: tarStream.Header };

/** Everything read of one layer tar of the export, by its name there. */
interface LayerScan {
  /** `sha256:<hex>` of the layer tar: its diff id. */
  digest: string;
  sizeBytes: number;
  files: LayerFile[];
  truncated: boolean;
  inspected: { path: string; content: Buffer }[];
}

const TYPES: Record<string, LayerFile['type']> = { file: 'file', directory: 'directory', symlink: 'symlink', link: 'link' };

/**
 * Reads an image export. `instructions`: the Dockerfile as parsed (to name each layer's step); `inspect`: absolute
 * globs of the files whose contents are wanted from the layers the Dockerfile made.
 */
export async function readImageExport(
  tar: Readable,
  instructions: readonly DockerfileInstruction[],
  inspect: readonly string[],
  /** Diff ids (`sha256:…`) of the base images' layers: their files are neither listed nor counted against the caps. */
  baseLayers: ReadonlySet<string> = new Set(),
): Promise<ImageReport> {
  const globs = inspect.map(globToRegExp);
  const json = new Map<string, Buffer>();
  const scans = new Map<string, LayerScan>();
  const budget = { files: MAX_INSPECT_FILES, bytes: MAX_INSPECT_TOTAL_BYTES, truncated: false };
  const extract = tarStream.extract();
  tar.on('error', (err: Error) => extract.destroy(err));
  tar.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const raw of extract) {
    const entry = raw as unknown as Entry;
    const name = entry.header.name.replace(/^\.\//, '');
    const head = await firstBytes(entry, 512);
    // A layer by its name (`<id>/layer.tar`) or, in the OCI layout's blobs, by its first header; an empty layer
    // (a step that added nothing) is a tar of zeros.
    const layer = name.endsWith('/layer.tar') || isTar(head.bytes) || (name.startsWith('blobs/') && head.bytes.length === 512 && head.bytes.every((b) => b === 0));
    if (entry.header.type === 'file' && layer) {
      // A layer is known to be the base image's only once read (by its digest): what it took of the caps is given back.
      const before = { ...budget };
      const scan = await scanLayer(head.bytes, head.rest, globs, budget);
      if (baseLayers.has(scan.digest)) {
        Object.assign(budget, before);
        scan.files = [];
        scan.inspected = [];
        scan.truncated = false;
      }
      scans.set(name, scan);
    }
    else if (entry.header.type === 'file' && (entry.header.size ?? 0) <= MAX_JSON_BYTES && /(^manifest\.json$|^[0-9a-f]{64}\.json$|^blobs\/)/.test(name)) {
      json.set(name, Buffer.concat([head.bytes, ...(await collect(head.rest))]));
    } else await drain(head.rest);
  }

  const manifest = parseJson(json.get('manifest.json'), 'manifest.json') as { Config?: string; Layers?: string[] }[];
  const first = manifest[0];
  if (!first?.Config || !Array.isArray(first.Layers)) throw new Error('the image export has no manifest naming its configuration and layers');
  const config = parseJson(json.get(first.Config), first.Config) as ImageConfigJson;

  // Which step made each layer: the history entries the build added come last, after the base image's own.
  const chain = buildChain(instructions);
  const history = config.history ?? [];
  const own = history.length >= chain.entries.length ? chain.entries : [];
  const baseCount = history.length - own.length;
  const labels: ChainEntry[] = [];
  history.forEach((h, i) => {
    if (h.empty_layer) return;
    labels.push(i < baseCount ? { instruction: chain.base ?? '(base image)', line: null } : own[i - baseCount]!);
  });
  const baseCountLayers = history.slice(0, baseCount).filter((h) => !h.empty_layer).length;

  const layers: BuildLayer[] = [];
  const inspected: InspectedFile[] = [];
  first.Layers.forEach((layerName, n) => {
    const scan = scans.get(layerName);
    if (!scan) throw new Error(`the image export lacks its layer ${layerName}`);
    const base = n < baseCountLayers;
    const label = labels[n] ?? { instruction: '(unknown step)', line: null };
    layers.push({ instruction: label.instruction, line: label.line, base, sizeBytes: scan.sizeBytes, files: base ? [] : scan.files, truncated: base ? false : scan.truncated });
    if (!base) for (const f of scan.inspected) inspected.push({ layer: n, path: f.path, content: f.content });
  });
  // A layer the manifest lists twice (two steps that made the same change) is one tar: both entries get its files.
  const c = config.config ?? {};
  const hc = c.Healthcheck;
  return {
    image: {
      user: c.User ?? '',
      workdir: c.WorkingDir ?? '',
      env: c.Env ?? [],
      cmd: c.Cmd ?? null,
      entrypoint: c.Entrypoint && c.Entrypoint.length ? c.Entrypoint : null,
      exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(),
      healthcheck: hc?.Test
        ? {
            test: hc.Test,
            ...(hc.Interval ? { intervalNs: hc.Interval } : {}),
            ...(hc.Timeout ? { timeoutNs: hc.Timeout } : {}),
            ...(hc.StartPeriod ? { startPeriodNs: hc.StartPeriod } : {}),
            ...(hc.Retries ? { retries: hc.Retries } : {}),
          }
        : null,
      labels: Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([k]) => !k.startsWith('opslab.'))),
      sizeBytes: layers.reduce((n, l) => n + l.sizeBytes, 0),
    },
    layers,
    inspected,
    inspectTruncated: budget.truncated,
  };
}

interface ImageConfigJson {
  config?: {
    User?: string;
    WorkingDir?: string;
    Env?: string[];
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    ExposedPorts?: Record<string, unknown>;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
    Labels?: Record<string, string> | null;
  };
  history?: { created_by?: string; empty_layer?: boolean }[];
}

function parseJson(body: Buffer | undefined, name: string): unknown {
  if (!body) throw new Error(`the image export lacks ${name}`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error(`the image export's ${name} is not JSON`);
  }
}

/** A tar's first header: `ustar` at offset 257. */
function isTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** The first `n` bytes of an entry (fewer when it is shorter) and an iterator over the rest. */
async function firstBytes(entry: Entry, n: number): Promise<{ bytes: Buffer; rest: AsyncIterator<Buffer> }> {
  const it = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    have += r.value.length;
  }
  const all = Buffer.concat(parts);
  const rest: AsyncIterator<Buffer> = {
    next: (() => {
      let pending: Buffer | null = all.length > n ? all.subarray(n) : null;
      return async () => {
        if (pending) {
          const value = pending;
          pending = null;
          return { done: false, value };
        }
        return it.next();
      };
    })(),
  };
  return { bytes: all.subarray(0, n), rest };
}

async function collect(it: AsyncIterator<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
}

async function drain(it: AsyncIterator<Buffer>): Promise<void> {
  for (let r = await it.next(); !r.done; r = await it.next());
}

/** One layer tar: its files (listed up to MAX_LAYER_FILES) and the inspected files' contents within the budget. */
async function scanLayer(head: Buffer, rest: AsyncIterator<Buffer>, globs: RegExp[], budget: { files: number; bytes: number; truncated: boolean }): Promise<LayerScan> {
  const scan: LayerScan = { digest: '', sizeBytes: 0, files: [], truncated: false, inspected: [] };
  const inner = tarStream.extract();
  const hash = createHash('sha256');
  const source = Readable.from(
    (async function* () {
      hash.update(head);
      yield head;
      for (let r = await rest.next(); !r.done; r = await rest.next()) {
        hash.update(r.value);
        yield r.value;
      }
    })(),
  );
  source.on('error', (err: Error) => inner.destroy(err));
  source.pipe(inner as unknown as NodeJS.WritableStream);
  for await (const raw of inner) {
    const entry = raw as unknown as Entry;
    const h = entry.header;
    const name = path.posix.normalize(`/${h.name}`).replace(/(.)\/+$/, '$1');
    const base = path.posix.basename(name);
    const size = h.type === 'file' ? (h.size ?? 0) : 0;
    scan.sizeBytes += size;
    let file: LayerFile;
    if (base === '.wh..wh..opq') file = { path: path.posix.dirname(name), size: 0, type: 'opaque', whiteout: true };
    else if (base.startsWith('.wh.')) file = { path: path.posix.join(path.posix.dirname(name), base.slice(4)), size: 0, type: 'deleted', whiteout: true };
    else file = { path: name, size, type: TYPES[h.type ?? 'file'] ?? 'other', whiteout: false };
    const wanted = file.type === 'file' && globs.some((g) => g.test(file.path));
    if (wanted) {
      if (budget.files > 0 && budget.bytes > 0) {
        const keep = Math.min(size, MAX_INSPECT_FILE_BYTES, budget.bytes);
        const parts: Buffer[] = [];
        let got = 0;
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          if (got < keep) parts.push(chunk.subarray(0, keep - got));
          got += chunk.length;
        }
        const content = Buffer.concat(parts).subarray(0, keep);
        budget.files--;
        budget.bytes -= content.length;
        if (content.length < size) {
          file.extracted = 'partial';
          budget.truncated = true;
        } else file.extracted = true;
        scan.inspected.push({ path: file.path, content });
      } else {
        budget.truncated = true;
        await drain((entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
      }
    } else await drain((entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]());
    if (scan.files.length < MAX_LAYER_FILES) scan.files.push(file);
    else scan.truncated = true;
  }
  scan.digest = `sha256:${hash.digest('hex')}`;
  return scan;
}
