import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  AttemptListQuery,
  CreateInviteBody,
  ERROR_CODES,
  formatWeightedScore,
  ReviewInput,
  SCORECARD,
  scorecardFor,
  weightedAverage,
  weightedScore,
} from '../../contract/index.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;

const rate = (entries: Record<string, 1 | 2 | 3 | 4 | null>) =>
  Object.fromEntries(Object.entries(entries).map(([id, rating]) => [id, { rating, notes: '' }]));

describe('weighted score', () => {
  it('averages the rated dimensions by weight', () => {
    // (3*15 + 4*10) / 25 = 3.4
    const ratings = rate({ 'linux-networking': 3, git: 4, cloud: null });
    expect(weightedAverage(ratings)).toBeCloseTo(3.4, 10);
    expect(weightedScore(ratings)).toBe(3.4);
    expect(formatWeightedScore(ratings)).toBe('3.4 / 4');
  });

  it('is null, "not rated", when nothing is rated', () => {
    expect(weightedScore({})).toBeNull();
    expect(weightedScore(rate({ git: null }))).toBeNull();
    expect(formatWeightedScore(rate({ git: null }))).toBe('not rated');
  });

  it('shows the exact average rounded once, never the two-decimal API value rounded again', () => {
    // (15+15+15 + 4*10) / 55 = 1.5454…: the API keeps 1.55, the page and the export show 1.5 (not 1.6).
    const ratings = rate({ scripting: 1, cicd: 1, iac: 1, communication: 4 });
    expect(weightedScore(ratings)).toBe(1.55);
    expect(formatWeightedScore(ratings)).toBe('1.5 / 4');
    // (15+15+15 + 2*10 + 10) / 65 = 1.1538…: 1.15 in the API, 1.2 on screen (1.15 would print as 1.1).
    const other = rate({ scripting: 1, cicd: 1, iac: 1, observability: 2, communication: 1 });
    expect(weightedScore(other)).toBe(1.15);
    expect(formatWeightedScore(other)).toBe('1.2 / 4');
  });

  it('weighs over the dimensions it is given (a bundle scorecard gives the same result)', () => {
    const ratings = rate({ git: 2, iac: 4 });
    expect(weightedScore(ratings, scorecardFor(['git']))).toBe(weightedScore(ratings));
    expect(SCORECARD.reduce((sum, d) => sum + d.weight, 0)).toBe(100);
  });
});

describe('request schemas', () => {
  // The options app.ts gives Fastify's Ajv: refuse unknown fields, never coerce.
  const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true });

  it('refuses unknown fields and wrongly typed values', () => {
    const valid = ajv.compile(CreateInviteBody);
    const invite = { exerciseId: 'git-basics', candidateName: 'Ada', candidateEmail: 'ada@example.com', showFeedback: false };
    expect(valid(invite)).toBe(true);
    expect(valid({ ...invite, admin: true })).toBe(false);
    expect(valid({ ...invite, timeLimitMinutes: '30' })).toBe(false);
    expect(valid({ ...invite, candidateName: 'Ada\u0000' })).toBe(false);
  });

  it('takes ratings of the scorecard dimensions only, 1..4 or null', () => {
    const valid = ajv.compile(ReviewInput);
    const review = { ratings: { git: { rating: 3, notes: '' } }, recommendation: 'yes', summary: '' };
    expect(valid(review)).toBe(true);
    expect(valid({ ...review, recommendation: null, ratings: { git: { rating: null, notes: 'x' } } })).toBe(true);
    expect(valid({ ...review, ratings: { cooking: { rating: 3, notes: '' } } })).toBe(false);
    expect(valid({ ...review, ratings: { git: { rating: 5, notes: '' } } })).toBe(false);
    expect(valid({ ...review, recommendation: 'maybe' })).toBe(false);
  });

  it('keeps query numbers as digit strings', () => {
    const valid = ajv.compile(AttemptListQuery);
    expect(valid({ page: '2', sort: 'score', order: 'asc' })).toBe(true);
    expect(valid({ page: 2 })).toBe(false);
    expect(valid({ page: '2', extra: '1' })).toBe(false);
  });
});

describe('error codes', () => {
  it('are distinct OPSLAB_ERR_* codes', () => {
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^OPSLAB_ERR_[A-Z_]+$/);
  });
});
