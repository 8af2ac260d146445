/** What a container may use: memory (MiB, no swap beyond it), CPUs, processes. */
export interface ResourceLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}
