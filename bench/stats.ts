/** Nearest-rank quantile (q in 0..1) of a sample; NaN for an empty one. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export interface Summary {
  n: number;
  p50: number;
  /** Only when the sample has at least 10 values. */
  p90: number | null;
  /** Only when the sample has at least 100 values. */
  p99: number | null;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: median(values),
    p90: values.length >= 10 ? quantile(values, 0.9) : null,
    p99: values.length >= 100 ? quantile(values, 0.99) : null,
  };
}

/** Formats a number with a precision that suits its size; `–` for a missing one. */
export function fmt(value: number | null, unit = ''): string {
  if (value === null || Number.isNaN(value)) return '–';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit}`;
}

export const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
