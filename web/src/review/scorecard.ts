// The interviewer's scorecard: a 1-4 rating and notes per dimension (the exercise's skills first, others can be
// added), an overall recommendation and a summary, saved with PUT …/review. Next to it, the other interviewers'
// reviews, read-only.

import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import {
  formatWeightedScore,
  RATING_LABELS,
  RATING_VALUES,
  RECOMMENDATION_LABELS,
  RECOMMENDATIONS,
  REVIEW_LIMITS,
  reviewApi,
  type Rating,
  type RatingValue,
  type Recommendation,
  type Review,
  type ScorecardDimension,
} from './api.js';

const RATINGS = RATING_VALUES;
const NOTES_MAX = REVIEW_LIMITS.notes;
const SUMMARY_MAX = REVIEW_LIMITS.summary;

function formatWhen(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export interface ScorecardOptions {
  attemptId: string;
  dimensions: ScorecardDimension[];
  mine: Review | null;
  scope: Scope;
  onSaved?: (review: Review) => void;
}

interface DimensionControls {
  dim: ScorecardDimension;
  element: HTMLElement;
  radios: HTMLInputElement[];
  notes: HTMLTextAreaElement;
}

export class ScorecardForm {
  readonly element: HTMLFormElement;

  private readonly scope: Scope;
  private readonly attemptId: string;
  private readonly dimensions: ScorecardDimension[];
  private readonly onSaved: ((review: Review) => void) | undefined;
  private readonly shown = new Map<string, DimensionControls>();
  private readonly dimList = h('div', { class: 'score-dims', 'data-testid': 'scorecard-dimensions' });
  private readonly addSelect = h('select', { class: 'score-add-select', 'data-testid': 'scorecard-add-select', 'aria-label': 'Dimension to add' });
  private readonly addButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'scorecard-add' }, 'Add');
  private readonly addRow: HTMLElement;
  private readonly recommendation: HTMLInputElement[] = [];
  private readonly summary = h('textarea', {
    class: 'score-summary',
    id: 'scorecard-summary',
    rows: 4,
    maxlength: SUMMARY_MAX,
    'data-testid': 'scorecard-summary',
  });
  private readonly weighted = h('output', { class: 'score-weighted', 'data-testid': 'scorecard-weighted' });
  private readonly saveButton = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'scorecard-save' }, 'Save scorecard');
  private readonly status = h('p', { class: 'score-status', role: 'status', 'data-testid': 'scorecard-status' });
  private saving = false;
  private dirty = false;

  constructor(options: ScorecardOptions) {
    this.scope = options.scope;
    this.attemptId = options.attemptId;
    this.onSaved = options.onSaved;
    // The exercise's skills first, then the rest, each group in the scorecard's own order.
    this.dimensions = [...options.dimensions.filter((d) => d.preselected), ...options.dimensions.filter((d) => !d.preselected)];

    this.addRow = h(
      'div',
      { class: 'score-add' },
      h('label', { for: 'scorecard-add-select', class: 'muted' }, 'Rate another dimension'),
      this.addSelect,
      this.addButton,
    );
    this.addSelect.id = 'scorecard-add-select';

    const recommendationGroup = h('div', { class: 'score-options', role: 'radiogroup', 'aria-labelledby': 'scorecard-rec-legend' });
    for (const value of RECOMMENDATIONS) {
      const input = h('input', { type: 'radio', name: 'scorecard-recommendation', value, 'data-testid': `scorecard-rec-${value}` });
      this.recommendation.push(input);
      recommendationGroup.append(
        h('label', { class: 'score-option', 'data-recommendation': value }, input, h('span', {}, RECOMMENDATION_LABELS[value])),
      );
    }

    this.element = h(
      'form',
      { class: 'scorecard', 'data-testid': 'scorecard-form', novalidate: true },
      h('h3', { class: 'score-heading' }, 'Your scorecard'),
      this.dimList,
      this.addRow,
      h(
        'fieldset',
        { class: 'score-fieldset score-recommendation' },
        h('legend', { id: 'scorecard-rec-legend' }, 'Recommendation'),
        recommendationGroup,
      ),
      h('label', { for: 'scorecard-summary', class: 'score-label' }, 'Summary'),
      this.summary,
      h('p', { class: 'score-weighted-row' }, 'Weighted score: ', this.weighted),
      h('div', { class: 'score-actions' }, this.saveButton, this.status),
    );

    const mine = options.mine;
    for (const dim of this.dimensions) {
      const rating = mine?.ratings[dim.id];
      const used = rating !== undefined && (rating.rating !== null || rating.notes.trim() !== '');
      if (dim.preselected || used) this.showDimension(dim, rating ?? null);
    }
    if (mine) {
      for (const input of this.recommendation) input.checked = input.value === mine.recommendation;
      this.summary.value = mine.summary;
      this.status.textContent = `Saved ${formatWhen(mine.updatedAt)}`;
    }
    this.renderAddOptions();
    this.updateWeighted();

    this.scope.listen(this.addButton, 'click', () => {
      const dim = this.dimensions.find((d) => d.id === this.addSelect.value);
      if (!dim) return;
      const controls = this.showDimension(dim, null);
      this.renderAddOptions();
      this.markDirty();
      controls.radios[0]?.focus();
    });
    this.scope.listen(this.element, 'input', () => this.markDirty());
    this.scope.listen(this.element, 'change', () => this.markDirty());
    this.scope.listen(this.element, 'submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    this.scope.listen(window, 'beforeunload', (event) => {
      if (this.dirty) event.preventDefault();
    });
  }

  /** What the form says now, as the PUT body wants it. */
  value(): { ratings: Record<string, Rating>; recommendation: Recommendation | null; summary: string } {
    const ratings: Record<string, Rating> = {};
    for (const [id, controls] of this.shown) {
      const checked = controls.radios.find((r) => r.checked);
      ratings[id] = { rating: checked ? (Number(checked.value) as RatingValue) : null, notes: controls.notes.value };
    }
    const rec = this.recommendation.find((r) => r.checked);
    return { ratings, recommendation: rec ? (rec.value as Recommendation) : null, summary: this.summary.value };
  }

  private showDimension(dim: ScorecardDimension, rating: Rating | null): DimensionControls {
    const existing = this.shown.get(dim.id);
    if (existing) return existing;
    const legendId = `scorecard-dim-${dim.id}-legend`;
    const radios: HTMLInputElement[] = [];
    const group = h('div', { class: 'score-options', role: 'radiogroup', 'aria-labelledby': legendId });
    for (const value of RATINGS) {
      const input = h('input', {
        type: 'radio',
        name: `scorecard-${dim.id}`,
        value: String(value),
        checked: rating?.rating === value,
        'data-testid': `scorecard-${dim.id}-${value}`,
      });
      radios.push(input);
      group.append(
        h('label', { class: 'score-option', 'data-rating': String(value) }, input, h('span', {}, `${value} ${RATING_LABELS[value]}`)),
      );
    }
    const notesId = `scorecard-${dim.id}-notes`;
    const notes = h('textarea', { id: notesId, class: 'score-notes', rows: 2, maxlength: NOTES_MAX, 'data-testid': `scorecard-${dim.id}-notes` });
    notes.value = rating?.notes ?? '';
    const clear = h('button', { type: 'button', class: 'link-button', 'data-testid': `scorecard-${dim.id}-clear` }, 'Clear rating');
    clear.setAttribute('aria-label', `Clear the rating of ${dim.title}`);
    this.scope.listen(clear, 'click', () => {
      for (const r of radios) r.checked = false;
      this.markDirty();
      radios[0]?.focus();
    });
    let remove: HTMLButtonElement | null = null;
    if (!dim.preselected) {
      remove = h('button', { type: 'button', class: 'link-button', 'data-testid': `scorecard-${dim.id}-remove` }, 'Remove');
      remove.setAttribute('aria-label', `Remove ${dim.title} from the scorecard`);
      this.scope.listen(remove, 'click', () => {
        this.shown.get(dim.id)?.element.remove();
        this.shown.delete(dim.id);
        this.renderAddOptions();
        this.markDirty();
        this.addSelect.focus();
      });
    }
    const element = h(
      'fieldset',
      { class: 'score-fieldset score-dim', 'data-testid': `scorecard-dim-${dim.id}`, 'data-dimension': dim.id },
      h('legend', { id: legendId }, dim.title, ' ', h('span', { class: 'muted score-weight' }, `weight ${dim.weight}`)),
      group,
      h('label', { for: notesId, class: 'score-label muted' }, 'Notes'),
      notes,
      h('div', { class: 'score-dim-actions' }, clear, remove),
    );
    const controls = { dim, element, radios, notes };
    // Kept in the scorecard's order, whatever the order of adding.
    const after = this.dimensions.slice(this.dimensions.indexOf(dim) + 1).map((d) => this.shown.get(d.id)).find(Boolean);
    this.dimList.insertBefore(element, after?.element ?? null);
    this.shown.set(dim.id, controls);
    return controls;
  }

  private renderAddOptions(): void {
    const rest = this.dimensions.filter((d) => !this.shown.has(d.id));
    this.addSelect.replaceChildren(...rest.map((d) => h('option', { value: d.id }, d.title)));
    this.addRow.hidden = rest.length === 0;
  }

  private updateWeighted(): void {
    this.weighted.textContent = formatWeightedScore(this.value().ratings, this.dimensions);
  }

  private markDirty(): void {
    this.updateWeighted();
    if (this.saving) return;
    this.dirty = true;
    this.status.dataset['state'] = 'dirty';
    this.status.textContent = 'Unsaved changes';
  }

  private async save(): Promise<void> {
    if (this.saving) return;
    this.saving = true;
    this.saveButton.setAttribute('aria-busy', 'true');
    this.saveButton.setAttribute('aria-disabled', 'true');
    this.status.dataset['state'] = 'saving';
    this.status.textContent = 'Saving…';
    const body = this.value();
    try {
      const review = await reviewApi.saveReview(this.attemptId, body, this.scope.signal);
      this.dirty = false;
      this.status.dataset['state'] = 'saved';
      this.status.textContent = `Saved ${formatWhen(review.updatedAt)}`;
      this.onSaved?.(review);
    } catch (err) {
      if (this.scope.disposed) return;
      this.status.dataset['state'] = 'error';
      this.status.textContent = errorText(err, 'The scorecard could not be saved.');
    } finally {
      this.saving = false;
      this.saveButton.removeAttribute('aria-busy');
      this.saveButton.removeAttribute('aria-disabled');
    }
  }
}

/** The other interviewers' reviews, read-only, newest first. */
export function renderOtherReviews(reviews: Review[], dimensions: ScorecardDimension[]): HTMLElement {
  const titles = new Map(dimensions.map((d) => [d.id, d.title]));
  const others = reviews.filter((r) => !r.mine).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const section = h(
    'div',
    { class: 'other-reviews', 'data-testid': 'other-reviews' },
    h('h3', { class: 'score-heading' }, 'Other interviewers'),
  );
  if (others.length === 0) {
    section.append(h('p', { class: 'muted', 'data-testid': 'other-reviews-empty' }, 'No other interviewer has reviewed this attempt yet.'));
    return section;
  }
  for (const review of others) {
    const ratings = h('dl', { class: 'review-ratings' });
    for (const [id, rating] of Object.entries(review.ratings)) {
      if (rating.rating === null && rating.notes.trim() === '') continue;
      ratings.append(
        h('dt', {}, titles.get(id) ?? id),
        h(
          'dd',
          {},
          rating.rating === null ? 'not rated' : `${rating.rating} ${RATING_LABELS[rating.rating]}`,
          rating.notes.trim() !== '' ? h('span', { class: 'review-notes' }, rating.notes) : null,
        ),
      );
    }
    section.append(
      h(
        'article',
        { class: 'review-card', 'data-testid': 'other-review' },
        h(
          'header',
          { class: 'review-card-head' },
          h('strong', { class: 'review-name' }, review.reviewer.name),
          review.recommendation
            ? h('span', { class: 'rec-badge', 'data-recommendation': review.recommendation }, RECOMMENDATION_LABELS[review.recommendation])
            : h('span', { class: 'rec-badge' }, 'No recommendation'),
          h('span', { class: 'review-weighted', 'data-testid': 'other-review-score' }, formatWeightedScore(review.ratings, dimensions)),
        ),
        ratings.childElementCount > 0 ? ratings : null,
        review.summary.trim() !== '' ? h('p', { class: 'review-summary' }, review.summary) : null,
        h('p', { class: 'muted review-when' }, `Updated ${formatWhen(review.updatedAt)}`),
      ),
    );
  }
  return section;
}
