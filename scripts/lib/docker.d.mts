// Types for the unit tests (scripts/lib/docker.mjs is plain JavaScript: it runs before node_modules exists).
export interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
  label: string;
}
export function dockerEndpoint(env?: NodeJS.ProcessEnv): Endpoint;
export function engineStartProblem(endpoint?: Endpoint, opts?: { root?: boolean; debianLike?: boolean }): string | null;
