// Types for the unit tests (scripts/lib/phases.mjs is plain JavaScript: it runs before node_modules exists).
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
export interface SummaryLine extends Partial<Counts> {
  failures?: string[];
}
export class Phases {
  constructor(out?: (line: string) => void, now?: () => number);
  start(name: string): void;
  end(status?: string): void;
  table(): string;
}
export function addPhase(totals: Counts, counts: Partial<Counts>[], exitCode: number): Counts;
export function readCounts(file: string): SummaryLine[];
export function phaseFailures(name: string, counts: SummaryLine[], exitCode: number): string[];
export function failuresBlock(failures: string[]): string;
export function closingLine(counts: Counts): string;
