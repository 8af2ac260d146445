// Shared by the benchmark and its server process (bench/server.ts).

/** On every container the benchmark makes (sandboxes, baselines, graders); not the test label, which test runs sweep. */
export const BENCH_LABEL = 'opslab.bench';

/** A request to the server process over its IPC channel. */
export interface ServerRequest {
  id: number;
  cmd: 'gc' | 'memory' | 'reset-hwm' | 'cpu' | 'pool-ready' | 'stop';
}

export interface ServerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** The highest RSS since the process started (or since the high-water mark was last reset), from /proc. */
  hwm: number | null;
}
