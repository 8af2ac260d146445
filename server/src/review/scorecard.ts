import type { Rating, ScorecardDimension } from './types.js';

/**
 * The role's scorecard: what an associate DevOps engineer is judged on, with weights summing to 100. Exercise
 * `skills` use these ids, so an exercise's own dimensions come pre-selected on its review.
 */
export const SCORECARD: readonly { id: string; title: string; weight: number }[] = [
  { id: 'linux-networking', title: 'Linux and networking', weight: 15 },
  { id: 'git', title: 'Git and collaboration', weight: 10 },
  { id: 'scripting', title: 'Scripting and automation', weight: 15 },
  { id: 'cicd', title: 'CI/CD', weight: 15 },
  { id: 'iac', title: 'Infrastructure as code', weight: 15 },
  { id: 'cloud', title: 'Cloud', weight: 10 },
  { id: 'observability', title: 'Observability and operations', weight: 10 },
  { id: 'communication', title: 'Communication', weight: 10 },
];

export const DIMENSION_IDS = SCORECARD.map((d) => d.id);

export function scorecardFor(skills: readonly string[]): ScorecardDimension[] {
  return SCORECARD.map((d) => ({ ...d, preselected: skills.includes(d.id) }));
}

/** The weight-averaged rating over the dimensions that were rated, rounded to two decimals; null if none. */
export function weightedScore(ratings: Record<string, Rating>): number | null {
  let sum = 0;
  let weights = 0;
  for (const d of SCORECARD) {
    const r = ratings[d.id]?.rating;
    if (r === null || r === undefined) continue;
    sum += r * d.weight;
    weights += d.weight;
  }
  return weights === 0 ? null : Math.round((sum / weights) * 100) / 100;
}
