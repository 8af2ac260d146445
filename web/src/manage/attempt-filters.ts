// The dashboard's filter bar: state, exercise, interviewer and a score range. Menus apply at once; the score
// fields on Enter or when focus leaves them, after a check.

import { api, isAbort, type AttemptState } from '../api.js';
import { h, type Scope } from '../dom.js';
import { ATTEMPT_STATES, manageApi } from './api.js';
import { DEFAULT_QUERY, hasFilters, isScore, type DashboardQuery } from './attempt-query.js';
import type { User } from './session.js';
import { attemptStateFilterLabel } from './widgets.js';

export interface AttemptFiltersOptions {
  scope: Scope;
  user: User;
  /** The query as it is now (sort and page included). */
  query(): DashboardQuery;
  /** The filters changed: show the list for `query`. */
  onChange(query: DashboardQuery): void;
}

export class AttemptFilters {
  readonly element: HTMLFormElement;
  /** Interviewers' names by id, from the staff list and from the rows seen (the URL may name one). */
  readonly interviewerNames = new Map<string, string>();

  private readonly stateFilter = h(
    'select',
    { id: 'filter-state', name: 'state', 'data-testid': 'filter-state' },
    h('option', { value: '' }, 'Any state'),
    ...ATTEMPT_STATES.map((state) => h('option', { value: state }, attemptStateFilterLabel(state))),
  );
  private readonly exerciseFilter = h(
    'select',
    { id: 'filter-exercise', name: 'exercise', 'data-testid': 'filter-exercise' },
    h('option', { value: '' }, 'Any exercise'),
  );
  private readonly interviewerFilter = h(
    'select',
    { id: 'filter-interviewer', name: 'interviewer', 'data-testid': 'filter-interviewer' },
  );
  private readonly minScore = scoreInput('filter-min-score', 'minScore');
  private readonly maxScore = scoreInput('filter-max-score', 'maxScore');
  private readonly scoreError = h('p', { id: 'score-filter-error', class: 'field-error', 'data-testid': 'score-filter-error' });
  private readonly clearButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'clear-filters' }, 'Clear filters');

  constructor(private readonly options: AttemptFiltersOptions) {
    const { scope } = options;
    const apply = h('button', { type: 'submit', class: 'button button-small' }, 'Apply');
    this.element = h(
      'form',
      { class: 'staff-toolbar attempt-filters', role: 'search', 'aria-label': 'Filter attempts', 'data-testid': 'attempt-filters', novalidate: true },
      filterField('filter-state', 'State', this.stateFilter),
      filterField('filter-exercise', 'Exercise', this.exerciseFilter),
      filterField('filter-interviewer', 'Interviewer', this.interviewerFilter),
      h(
        'fieldset',
        { class: 'filter-field score-range' },
        h('legend', {}, 'Score (%)'),
        h(
          'div',
          { class: 'score-inputs' },
          h('label', { for: 'filter-min-score', class: 'visually-hidden' }, 'Lowest score, in percent'),
          this.minScore,
          h('span', { 'aria-hidden': 'true' }, 'to'),
          h('label', { for: 'filter-max-score', class: 'visually-hidden' }, 'Highest score, in percent'),
          this.maxScore,
        ),
      ),
      h('div', { class: 'filter-actions' }, apply, this.clearButton),
      this.scoreError,
    );

    this.fillInterviewers([]);

    for (const select of [this.stateFilter, this.exerciseFilter, this.interviewerFilter]) {
      scope.listen(select, 'change', () => this.apply());
    }
    // Score fields apply on Enter (the form's submit) or when focus leaves them, not on every keystroke.
    scope.listen(this.minScore, 'change', () => this.apply());
    scope.listen(this.maxScore, 'change', () => this.apply());
    scope.listen(this.element, 'submit', (event) => {
      event.preventDefault();
      this.apply();
    });
    scope.listen(this.clearButton, 'click', () => this.clear());
  }

  /** Fills the exercise and interviewer menus. */
  async load(): Promise<void> {
    await Promise.all([this.loadExercises(), this.loadUsers()]);
  }

  /** Back to no filters (the sort stays). */
  clear(): void {
    const query = this.options.query();
    this.options.onChange({ ...DEFAULT_QUERY, sort: query.sort, order: query.order });
    this.stateFilter.focus();
  }

  /** The controls show `query`. */
  sync(): void {
    const q = this.options.query();
    this.stateFilter.value = q.state;
    ensureOption(this.exerciseFilter, q.exercise, q.exercise);
    this.exerciseFilter.value = q.exercise;
    ensureOption(this.interviewerFilter, q.interviewer, this.interviewerNames.get(q.interviewer) ?? 'Selected interviewer');
    this.interviewerFilter.value = q.interviewer;
    this.minScore.value = q.minScore;
    this.maxScore.value = q.maxScore;
    this.clearButton.hidden = !hasFilters(q);
  }

  private apply(): void {
    const min = this.minScore.value.trim();
    const max = this.maxScore.value.trim();
    let problem: string | null = null;
    if (!isScore(min) || !isScore(max) || this.minScore.validity.badInput || this.maxScore.validity.badInput) {
      problem = 'Scores are whole percentages from 0 to 100.';
    } else if (min !== '' && max !== '' && Number(min) > Number(max)) {
      problem = 'The lowest score is above the highest.';
    }
    this.scoreError.textContent = problem ?? '';
    for (const input of [this.minScore, this.maxScore]) {
      if (problem) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    if (problem) return;
    this.options.onChange({
      ...this.options.query(),
      state: this.stateFilter.value as AttemptState | '',
      exercise: this.exerciseFilter.value,
      interviewer: this.interviewerFilter.value,
      minScore: min,
      maxScore: max,
      page: 1,
    });
  }

  private async loadExercises(): Promise<void> {
    const { scope } = this.options;
    let exercises;
    try {
      exercises = await api.listStaffExercises(scope.signal);
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      // The list still works; the filter offers what the URL asked for.
      return;
    }
    if (scope.disposed) return;
    this.exerciseFilter.replaceChildren(
      h('option', { value: '' }, 'Any exercise'),
      ...exercises.map((e) => h('option', { value: e.id }, e.title)),
    );
    this.sync();
  }

  private async loadUsers(): Promise<void> {
    const { scope, user } = this.options;
    // Only admins may list the staff; interviewers choose between everyone and themselves.
    if (user.role !== 'admin') return;
    try {
      const users = await manageApi.listUsers(scope.signal);
      if (scope.disposed) return;
      this.fillInterviewers(users.filter((u) => u.id !== user.id).map((u) => ({ id: u.id, name: u.name })));
    } catch {
      // Keep "Anyone" and "Me".
    }
  }

  private fillInterviewers(others: { id: string; name: string }[]): void {
    const { user } = this.options;
    for (const o of others) this.interviewerNames.set(o.id, o.name);
    this.interviewerNames.set(user.id, `Me (${user.name})`);
    const sorted = [...others].sort((a, b) => a.name.localeCompare(b.name));
    this.interviewerFilter.replaceChildren(
      h('option', { value: '' }, 'Anyone'),
      h('option', { value: user.id }, `Me (${user.name})`),
      ...sorted.map((u) => h('option', { value: u.id }, u.name)),
    );
    this.sync();
  }
}

function filterField(id: string, label: string, control: HTMLElement): HTMLElement {
  return h('div', { class: 'filter-field' }, h('label', { for: id }, label), control);
}

/** One end of the score range: a whole percentage. */
function scoreInput(id: string, name: string): HTMLInputElement {
  return h('input', {
    id,
    name,
    type: 'number',
    inputmode: 'numeric',
    min: 0,
    max: 100,
    step: 1,
    class: 'score-input',
    'aria-describedby': 'score-filter-error',
    'data-testid': id,
  });
}

/** A value from the URL that the list of options does not have (yet) still shows as selected. */
function ensureOption(select: HTMLSelectElement, value: string, label: string): void {
  if (value === '' || [...select.options].some((o) => o.value === value)) return;
  select.append(h('option', { value }, label));
}
