import type { Readable } from 'node:stream';

/** An image as the engine knows it. */
export interface ImageInfo {
  id: string;
  labels: Record<string, string>;
  /** Its repo:tag names (none for an image a rebuild left untagged). */
  tags: string[];
}

export interface ImageBuildOptions {
  tag: string;
  /** The Dockerfile's path inside the context. */
  dockerfile: string;
  labels: Record<string, string>;
  /** Each line of the build's output, as it comes. */
  onOutput: (line: string) => void;
}

export interface OneShotResult {
  exitCode: number;
  output: string;
}

/**
 * The image operations the image builders (server/src/images) need from the engine. The Docker implementation is
 * in drivers/docker/image-engine.ts; only driver files talk to the engine.
 */
export interface ImageEngine {
  /** Null when the engine does not have it. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  /** Pulls `ref` from its registry; rejects with the engine's own message, or when `signal` aborts. */
  pullImage(ref: string, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Imports a root filesystem (a tar stream) as the image `ref`, with Dockerfile instructions such as CMD applied. */
  importImage(rootfsTar: Readable, ref: string, changes: string[]): Promise<void>;
  /**
   * Builds the directory `contextDir` as `opts.tag`, with host networking (so that apt-get reaches the mirror);
   * resolves with the id the engine reported ('' when it reported none), rejects with the engine's error.
   */
  buildImage(contextDir: string, opts: ImageBuildOptions): Promise<string>;
  removeImage(ref: string): Promise<void>;
  /** Runs a one-shot container of `image` to completion (or `timeoutMs`) and removes it. */
  runOnce(image: string, cmd: string[], opts?: { networkMode?: string; timeoutMs?: number }): Promise<OneShotResult>;
}
