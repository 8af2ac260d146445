/** Nearest-rank quantile (q in 0..1) of a sample; NaN for an empty one. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return quantileSorted(sorted, q);
}

function quantileSorted(sorted: readonly number[], q: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export interface Summary {
  n: number;
  p50: number;
  /** Only when the sample has at least 10 values. */
  p90: number | null;
  /** Nearest rank: with fewer than 100 values it is the largest one. */
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: sorted.length ? quantileSorted(sorted, 0.5) : NaN,
    p90: sorted.length >= 10 ? quantileSorted(sorted, 0.9) : null,
    p99: sorted.length ? quantileSorted(sorted, 0.99) : NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
  };
}

/** Formats a number with a precision that suits its size; `–` for a missing one. */
export function fmt(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit}`;
}

export const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0 || Number.isNaN(a) || Number.isNaN(b) ? null : a / b;

export const MiB = 1024 * 1024;
