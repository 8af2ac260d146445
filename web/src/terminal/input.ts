// Turns what xterm hands us into binary frames for the shell.

import { INPUT_CHUNK_BYTES } from './protocol.js';

const encoder = new TextEncoder();

/** Splits bytes into frames of at most `max` bytes (views, no copies). */
export function chunkBytes(bytes: Uint8Array, max = INPUT_CHUNK_BYTES): Uint8Array[] {
  if (bytes.length <= max) return bytes.length === 0 ? [] : [bytes];
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += max) {
    chunks.push(bytes.subarray(offset, Math.min(offset + max, bytes.length)));
  }
  return chunks;
}

/** `term.onData`: a JS string, sent as UTF-8. */
export function encodeData(data: string): Uint8Array[] {
  return chunkBytes(encoder.encode(data));
}

/** `term.onBinary`: a string whose code units are raw bytes (e.g. some mouse reports). */
export function encodeBinary(data: string): Uint8Array[] {
  const bytes = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
  return chunkBytes(bytes);
}
