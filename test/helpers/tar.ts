// Reading a tar (or a gzipped one) in tests: every entry in order, with its header and its bytes.
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';

export interface TarEntry {
  /** As written in the archive (a folder's name may end with `/`). */
  name: string;
  type: string;
  linkname: string | null;
  uid: number;
  mode: number;
  body: Buffer;
}

/** The entries of a tar stream or buffer, in order; a buffer starting with gzip's magic bytes is gunzipped first. */
export async function readTarEntries(input: Buffer | Readable): Promise<TarEntry[]> {
  const source = Buffer.isBuffer(input) ? Readable.from([input[0] === 0x1f && input[1] === 0x8b ? zlib.gunzipSync(input) : input]) : input;
  const extract = tarStream.extract();
  source.pipe(extract as unknown as NodeJS.WritableStream);
  const out: TarEntry[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
    const h = entry.header;
    out.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname ?? null, uid: h.uid ?? 0, mode: h.mode ?? 0, body: Buffer.concat(chunks) });
  }
  return out;
}
