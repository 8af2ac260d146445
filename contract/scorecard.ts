// The role's scorecard and the weighted score: one computation for the API, the review page and the export.

export interface ScorecardEntry {
  readonly id: string;
  readonly title: string;
  readonly weight: number;
}

/**
 * What an associate DevOps engineer is judged on, with weights summing to 100. Exercise `skills` use these ids,
 * so an exercise's own dimensions come pre-selected on its review.
 */
export const SCORECARD = [
  { id: 'linux-networking', title: 'Linux and networking', weight: 15 },
  { id: 'git', title: 'Git and collaboration', weight: 10 },
  { id: 'scripting', title: 'Scripting and automation', weight: 15 },
  { id: 'cicd', title: 'CI/CD', weight: 15 },
  { id: 'iac', title: 'Infrastructure as code', weight: 15 },
  { id: 'cloud', title: 'Cloud', weight: 10 },
  { id: 'observability', title: 'Observability and operations', weight: 10 },
  { id: 'communication', title: 'Communication', weight: 10 },
] as const satisfies readonly ScorecardEntry[];

export type DimensionId = (typeof SCORECARD)[number]['id'];
export const DIMENSION_IDS: readonly DimensionId[] = SCORECARD.map((d) => d.id);

/** The dimensions' titles by id, for showing an exercise's skills by name. */
export const SKILL_TITLES: Readonly<Record<string, string>> = Object.fromEntries(SCORECARD.map((d) => [d.id, d.title]));

/** A dimension on one attempt's review: pre-selected when the exercise lists it among its skills. */
export interface ScorecardDimension {
  id: string;
  title: string;
  weight: number;
  preselected: boolean;
}

export function scorecardFor(skills: readonly string[]): ScorecardDimension[] {
  return SCORECARD.map((d) => ({ ...d, preselected: skills.includes(d.id) }));
}

/** Ratings by dimension id (a review's `ratings`): 1..4, or null when not rated. */
type Ratings = Readonly<Record<string, { rating: number | null } | undefined>>;

/** The exact weight-averaged rating (1..4) over the dimensions that were rated; null if none. */
export function weightedAverage(ratings: Ratings, dimensions: readonly ScorecardEntry[] = SCORECARD): number | null {
  let sum = 0;
  let weights = 0;
  for (const d of dimensions) {
    const r = ratings[d.id]?.rating;
    if (r === null || r === undefined) continue;
    sum += r * d.weight;
    weights += d.weight;
  }
  return weights === 0 ? null : sum / weights;
}

/** `Review.weightedScore` of the API: the weighted average rounded to two decimals; null if nothing is rated. */
export function weightedScore(ratings: Ratings, dimensions: readonly ScorecardEntry[] = SCORECARD): number | null {
  const average = weightedAverage(ratings, dimensions);
  return average === null ? null : Math.round(average * 100) / 100;
}

/**
 * The weighted score as the review page and the export show it: the exact average rounded once, to one decimal
 * ("3.4 / 4"). It is computed from the ratings, never from the two-decimal API value: rounding that again would
 * show 1.6 for an average of 1.545.
 */
export function formatWeightedScore(ratings: Ratings, dimensions: readonly ScorecardEntry[] = SCORECARD): string {
  const average = weightedAverage(ratings, dimensions);
  return average === null ? 'not rated' : `${average.toFixed(1)} / 4`;
}
