// Types for the unit tests (scripts/lib/system.mjs is plain JavaScript: it runs before node_modules exists).
export interface Probe {
  which(cmd: string): string | null;
  exists(file: string): boolean;
  ok(cmd: string, args: string[]): boolean;
  isRoot(): boolean;
  hasApt(): boolean;
}
export interface Tool {
  name: string;
  pkg: string;
  why: string;
  present(probe: Probe): boolean;
}
export const realProbe: Probe;
export const TEST_TOOLS: Tool[];
export function checkSetup(opts: {
  tools?: Tool[];
  probe?: Probe;
  engine: { up: boolean; label: string; startProblem: string | null };
}): { install: string[]; problems: string[] };
export function aptInstall(pkgs: string[]): Promise<void>;
export function registerRunsc(runscPath: string, file?: string): 'registered' | 'present';
