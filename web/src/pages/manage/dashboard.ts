// `/manage`: every attempt the staff can see, filtered (state, exercise, interviewer, score), sorted by a column
// and paged. Filters, sort and page live in the URL query, so a reload or Back shows the same list.

import '../../manage/dashboard.css';
import { api, isAbort, type AttemptState, type ExerciseSummary } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import {
  ATTEMPT_SORTS,
  ATTEMPT_STATES,
  attemptHref,
  manageApi,
  type AttemptPage,
  type AttemptQuery,
  type AttemptRow,
  type AttemptSort,
  type SortOrder,
} from '../../manage/api.js';
import { staffPage } from '../../manage/layout.js';
import type { User } from '../../manage/session.js';
import { attemptStateBadge, attemptStateFilterLabel, timeCell } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { errorText } from '../../ui/errors.js';
import { plural } from '../../ui/format.js';
import { spinner } from '../../ui/layout.js';

export const PAGE_SIZE = 25;
/** Running attempts change under the list; it is fetched again this often while the page is visible. */
const REFRESH_MS = 20_000;

/** The dashboard's state as it appears in the URL query. */
export interface DashboardQuery {
  state: AttemptState | '';
  exercise: string;
  interviewer: string;
  minScore: string;
  maxScore: string;
  sort: AttemptSort;
  order: SortOrder;
  page: number;
}

const DEFAULT_QUERY: DashboardQuery = {
  state: '',
  exercise: '',
  interviewer: '',
  minScore: '',
  maxScore: '',
  sort: 'createdAt',
  order: 'desc',
  page: 1,
};

/** Text columns start A→Z; dates and scores start with the newest / highest. */
const FIRST_ORDER: Record<AttemptSort, SortOrder> = {
  candidate: 'asc',
  exercise: 'asc',
  createdAt: 'desc',
  startedAt: 'desc',
  endedAt: 'desc',
  score: 'desc',
};

/** Score filters are percentages of the attempt's maximum score, whole numbers from 0 to 100. */
function isScore(text: string): boolean {
  return text === '' || (/^\d{1,3}$/.test(text) && Number(text) <= 100);
}

export function parseQuery(search: string): DashboardQuery {
  const params = new URLSearchParams(search);
  const state = params.get('state') ?? '';
  const sort = params.get('sort') ?? '';
  const order = params.get('order') ?? '';
  const page = Number(params.get('page') ?? '1');
  const minScore = params.get('minScore') ?? '';
  const maxScore = params.get('maxScore') ?? '';
  return {
    state: (ATTEMPT_STATES as readonly string[]).includes(state) ? (state as AttemptState) : '',
    exercise: params.get('exercise') ?? '',
    interviewer: params.get('interviewer') ?? '',
    minScore: isScore(minScore) ? minScore : '',
    maxScore: isScore(maxScore) ? maxScore : '',
    sort: (ATTEMPT_SORTS as readonly string[]).includes(sort) ? (sort as AttemptSort) : DEFAULT_QUERY.sort,
    order: order === 'asc' || order === 'desc' ? order : FIRST_ORDER[(ATTEMPT_SORTS as readonly string[]).includes(sort) ? (sort as AttemptSort) : DEFAULT_QUERY.sort],
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** Only what differs from the defaults goes into the URL. */
export function formatQuery(query: DashboardQuery): string {
  const params = new URLSearchParams();
  if (query.state) params.set('state', query.state);
  if (query.exercise) params.set('exercise', query.exercise);
  if (query.interviewer) params.set('interviewer', query.interviewer);
  if (query.minScore) params.set('minScore', query.minScore);
  if (query.maxScore) params.set('maxScore', query.maxScore);
  if (query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order) {
    params.set('sort', query.sort);
    params.set('order', query.order);
  }
  if (query.page > 1) params.set('page', String(query.page));
  const text = params.toString();
  return text ? `?${text}` : '';
}

function hasFilters(query: DashboardQuery): boolean {
  return query.state !== '' || query.exercise !== '' || query.interviewer !== '' || query.minScore !== '' || query.maxScore !== '';
}

export default async function dashboardPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Attempts', 'dashboard');
  if (!frame || ctx.scope.disposed) return;
  const page = new Dashboard(frame.main, ctx.scope, frame.user);
  await page.start();
}

interface Column {
  label: string;
  sort: AttemptSort | null;
  className?: string;
}

const COLUMNS: Column[] = [
  { label: 'Candidate', sort: 'candidate' },
  { label: 'Exercise', sort: 'exercise' },
  { label: 'State', sort: null },
  { label: 'Interviewer', sort: null },
  { label: 'Created', sort: 'createdAt' },
  { label: 'Started', sort: 'startedAt' },
  { label: 'Ended', sort: 'endedAt' },
  { label: 'Score', sort: 'score', className: 'col-number' },
  { label: 'Reviews', sort: null, className: 'col-number' },
];

class Dashboard {
  private query: DashboardQuery = parseQuery(location.search);
  private loadSeq = 0;
  private loading = false;
  private exercises: ExerciseSummary[] = [];
  private readonly interviewerNames = new Map<string, string>();

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
  private readonly minScore = h('input', {
    id: 'filter-min-score',
    name: 'minScore',
    type: 'number',
    inputmode: 'numeric',
    min: 0,
    max: 100,
    step: 1,
    class: 'score-input',
    'aria-describedby': 'score-filter-error',
    'data-testid': 'filter-min-score',
  });
  private readonly maxScore = h('input', {
    id: 'filter-max-score',
    name: 'maxScore',
    type: 'number',
    inputmode: 'numeric',
    min: 0,
    max: 100,
    step: 1,
    class: 'score-input',
    'aria-describedby': 'score-filter-error',
    'data-testid': 'filter-max-score',
  });
  private readonly scoreError = h('p', { id: 'score-filter-error', class: 'field-error', 'data-testid': 'score-filter-error' });
  private readonly clearButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'clear-filters' }, 'Clear filters');
  private readonly filters: HTMLFormElement;

  private readonly headRow = h('tr', {});
  private readonly tbody = h('tbody', {});
  private readonly table = h(
    'table',
    { class: 'staff-table attempts-table', 'data-testid': 'attempts-table' },
    h('caption', { class: 'visually-hidden', id: 'attempts-caption' }, 'Attempts'),
    h('thead', {}, this.headRow),
    this.tbody,
  );
  private readonly summary = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'attempts-summary' });
  private readonly alert = h('div', { class: 'status-area', role: 'alert' });
  private readonly empty = h('div', { class: 'attempts-empty', 'data-testid': 'attempts-empty', hidden: true });
  private readonly pager = h('nav', { class: 'pager', 'aria-label': 'Pages', 'data-testid': 'pager' });

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
    private readonly user: User,
  ) {
    this.main.classList.add('dashboard-page');
    const heading = h('h1', { tabindex: -1 }, 'Attempts');
    const apply = h('button', { type: 'submit', class: 'button button-small' }, 'Apply');

    this.filters = h(
      'form',
      { class: 'staff-toolbar attempt-filters', role: 'search', 'aria-label': 'Filter attempts', 'data-testid': 'attempt-filters', novalidate: true },
      this.filterField('filter-state', 'State', this.stateFilter),
      this.filterField('filter-exercise', 'Exercise', this.exerciseFilter),
      this.filterField('filter-interviewer', 'Interviewer', this.interviewerFilter),
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

    this.renderHead();
    this.main.append(
      h(
        'div',
        { class: 'dashboard-head' },
        heading,
        h('a', { href: '/manage/invites', class: 'button button-primary', 'data-testid': 'new-invite-link' }, 'New invite'),
      ),
      this.filters,
      this.alert,
      this.summary,
      this.empty,
      h('div', { class: 'table-scroll' }, this.table),
      this.pager,
    );
    heading.focus({ preventScroll: true });

    this.fillInterviewers([]);
    this.syncControls();

    for (const select of [this.stateFilter, this.exerciseFilter, this.interviewerFilter]) {
      scope.listen(select, 'change', () => this.applyFilters());
    }
    // Score fields apply on Enter (the form's submit) or when focus leaves them, not on every keystroke.
    scope.listen(this.minScore, 'change', () => this.applyFilters());
    scope.listen(this.maxScore, 'change', () => this.applyFilters());
    scope.listen(this.filters, 'submit', (event) => {
      event.preventDefault();
      this.applyFilters();
    });
    scope.listen(this.clearButton, 'click', () => {
      this.update({ ...DEFAULT_QUERY, sort: this.query.sort, order: this.query.order });
      this.stateFilter.focus();
    });
    scope.interval(() => {
      if (document.visibilityState === 'visible' && !this.loading) void this.load({ quiet: true });
    }, REFRESH_MS);
  }

  async start(): Promise<void> {
    await Promise.all([this.loadExercises(), this.loadUsers(), this.load()]);
  }

  private filterField(id: string, label: string, control: HTMLElement): HTMLElement {
    return h('div', { class: 'filter-field' }, h('label', { for: id }, label), control);
  }

  // ---- query <-> controls <-> URL --------------------------------------------------------------------------

  private syncControls(): void {
    const q = this.query;
    this.stateFilter.value = q.state;
    this.ensureOption(this.exerciseFilter, q.exercise, q.exercise);
    this.exerciseFilter.value = q.exercise;
    this.ensureOption(this.interviewerFilter, q.interviewer, this.interviewerNames.get(q.interviewer) ?? 'Selected interviewer');
    this.interviewerFilter.value = q.interviewer;
    this.minScore.value = q.minScore;
    this.maxScore.value = q.maxScore;
    this.clearButton.hidden = !hasFilters(q);
  }

  /** A value from the URL that the list of options does not have (yet) still shows as selected. */
  private ensureOption(select: HTMLSelectElement, value: string, label: string): void {
    if (value === '' || [...select.options].some((o) => o.value === value)) return;
    select.append(h('option', { value }, label));
  }

  private applyFilters(): void {
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
    this.update({
      ...this.query,
      state: this.stateFilter.value as AttemptState | '',
      exercise: this.exerciseFilter.value,
      interviewer: this.interviewerFilter.value,
      minScore: min,
      maxScore: max,
      page: 1,
    });
  }

  /** Takes a new query: into the URL (the same history entry) and the list. */
  private update(query: DashboardQuery): void {
    this.query = query;
    const url = `${location.pathname}${formatQuery(query)}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    this.syncControls();
    this.renderHead();
    void this.load();
  }

  private toApiQuery(): AttemptQuery {
    const q = this.query;
    return {
      state: q.state,
      exerciseId: q.exercise,
      interviewer: q.interviewer,
      minScore: q.minScore === '' ? null : Number(q.minScore),
      maxScore: q.maxScore === '' ? null : Number(q.maxScore),
      sort: q.sort,
      order: q.order,
      page: q.page,
      pageSize: PAGE_SIZE,
    };
  }

  // ---- options ---------------------------------------------------------------------------------------------

  private async loadExercises(): Promise<void> {
    try {
      this.exercises = await api.listExercises(this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      // The list still works; the filter offers what the URL asked for.
      return;
    }
    if (this.scope.disposed) return;
    this.exerciseFilter.replaceChildren(
      h('option', { value: '' }, 'Any exercise'),
      ...this.exercises.map((e) => h('option', { value: e.id }, e.title)),
    );
    this.syncControls();
  }

  private async loadUsers(): Promise<void> {
    // Only admins may list the staff; interviewers choose between everyone and themselves.
    if (this.user.role !== 'admin') return;
    try {
      const users = await manageApi.listUsers(this.scope.signal);
      if (this.scope.disposed) return;
      this.fillInterviewers(users.filter((u) => u.id !== this.user.id).map((u) => ({ id: u.id, name: u.name })));
    } catch {
      // Keep "Anyone" and "Me".
    }
  }

  private fillInterviewers(others: { id: string; name: string }[]): void {
    for (const o of others) this.interviewerNames.set(o.id, o.name);
    this.interviewerNames.set(this.user.id, `Me (${this.user.name})`);
    const sorted = [...others].sort((a, b) => a.name.localeCompare(b.name));
    this.interviewerFilter.replaceChildren(
      h('option', { value: '' }, 'Anyone'),
      h('option', { value: this.user.id }, `Me (${this.user.name})`),
      ...sorted.map((u) => h('option', { value: u.id }, u.name)),
    );
    this.syncControls();
  }

  // ---- table -----------------------------------------------------------------------------------------------

  private renderHead(): void {
    this.headRow.replaceChildren(
      ...COLUMNS.map((column) => {
        const th = h('th', { scope: 'col', class: column.className ?? null });
        if (!column.sort) {
          th.append(column.label);
          return th;
        }
        const active = this.query.sort === column.sort;
        th.setAttribute('aria-sort', active ? (this.query.order === 'asc' ? 'ascending' : 'descending') : 'none');
        const sort = column.sort;
        const button = h(
          'button',
          { type: 'button', class: 'sort-button', 'data-testid': `sort-${sort}`, 'data-sort': sort },
          column.label,
          h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (this.query.order === 'asc' ? '▲' : '▼') : '↕'),
        );
        button.addEventListener(
          'click',
          () => {
            const order: SortOrder = active ? (this.query.order === 'asc' ? 'desc' : 'asc') : FIRST_ORDER[sort];
            this.update({ ...this.query, sort, order, page: 1 });
            this.headRow.querySelector<HTMLButtonElement>(`[data-sort="${sort}"]`)?.focus();
          },
          { signal: this.scope.signal },
        );
        th.append(button);
        return th;
      }),
    );
  }

  private async load(options: { quiet?: boolean } = {}): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading = true;
    this.table.setAttribute('aria-busy', 'true');
    if (!options.quiet) this.summary.replaceChildren(spinner(), 'Loading attempts…');
    let result: AttemptPage;
    try {
      result = await manageApi.listAttempts(this.toApiQuery(), this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed || seq !== this.loadSeq) return;
      this.loading = false;
      this.table.removeAttribute('aria-busy');
      if (options.quiet) return;
      this.summary.replaceChildren();
      const retry = h('button', { type: 'button', class: 'button button-small' }, 'Try again');
      retry.addEventListener('click', () => void this.load(), { signal: this.scope.signal });
      this.alert.replaceChildren(
        h('div', { class: 'message message-error', 'data-testid': 'attempts-error' }, errorText(err, 'The attempts could not be loaded.'), retry),
      );
      return;
    }
    if (this.scope.disposed || seq !== this.loadSeq) return;
    this.loading = false;
    this.table.removeAttribute('aria-busy');
    this.alert.replaceChildren();
    const lastPage = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    if (this.query.page > lastPage && result.total > 0) {
      // The list shrank (or the URL pointed past its end): show the last page instead.
      this.update({ ...this.query, page: lastPage });
      return;
    }
    for (const row of result.attempts) {
      if (row.interviewer && !this.interviewerNames.has(row.interviewer.id)) this.interviewerNames.set(row.interviewer.id, row.interviewer.name);
    }
    this.render(result);
  }

  private render(result: AttemptPage): void {
    const { attempts, total } = result;
    const filtered = hasFilters(this.query);
    this.table.dataset['total'] = String(total);
    if (total === 0) {
      this.summary.textContent = filtered ? 'No attempts match these filters.' : 'No attempts yet.';
      this.table.hidden = true;
      this.tbody.replaceChildren();
      this.pager.replaceChildren();
      this.empty.hidden = false;
      if (filtered) {
        const clear = h('button', { type: 'button', class: 'button' }, 'Clear filters');
        clear.addEventListener('click', () => this.clearButton.click(), { signal: this.scope.signal });
        this.empty.replaceChildren(
          h('h2', { class: 'empty-title' }, 'Nothing matches these filters'),
          h('p', { class: 'muted' }, 'Try another state or a wider score range.'),
          clear,
        );
      } else {
        this.empty.replaceChildren(
          h('h2', { class: 'empty-title' }, 'No attempts yet'),
          h(
            'p',
            { class: 'muted' },
            'Attempts show up here once a candidate opens their invite. Create an invite and send the link to a candidate to get started.',
          ),
          h('a', { href: '/manage/invites', class: 'button button-primary', 'data-testid': 'empty-invites-link' }, 'Create an invite'),
        );
      }
      return;
    }
    this.empty.hidden = true;
    this.empty.replaceChildren();
    this.table.hidden = false;
    const first = (this.query.page - 1) * PAGE_SIZE + 1;
    const last = first + attempts.length - 1;
    this.summary.textContent = `${first}–${last} of ${plural(total, 'attempt')}${filtered ? ' matching the filters' : ''}.`;
    // A refresh keeps the keyboard focus on the same row's link.
    const active = document.activeElement;
    const activeRow = active instanceof HTMLElement && this.tbody.contains(active) ? active.closest<HTMLElement>('[data-attempt-id]')?.dataset['attemptId'] : undefined;
    this.tbody.replaceChildren(...attempts.map((row) => this.row(row)));
    if (activeRow) this.tbody.querySelector<HTMLElement>(`[data-attempt-id="${CSS.escape(activeRow)}"] .row-link`)?.focus();
    this.renderPager(total);
  }

  private row(row: AttemptRow): HTMLTableRowElement {
    const href = attemptHref(row.id, row.state);
    const who = row.candidateName ?? (row.mode === 'practice' ? 'Practice attempt' : 'Unnamed candidate');
    const score =
      row.score === null || row.maxScore === null
        ? h('span', { class: 'muted' }, row.state === 'running' || row.state === 'created' ? 'in progress' : '—')
        : h(
            'span',
            { 'data-testid': 'attempt-score' },
            `${formatPoints(row.score)} / ${formatPoints(row.maxScore)}`,
            h('span', { class: 'cell-sub muted' }, row.maxScore > 0 ? `${Math.round((100 * row.score) / row.maxScore)}%` : 'ungraded'),
          );
    return h(
      'tr',
      { 'data-testid': 'attempt-row', 'data-attempt-id': row.id, 'data-state': row.state },
      h(
        'td',
        { class: 'cell-candidate' },
        h(
          'a',
          { href, class: 'row-link', 'data-testid': 'attempt-link' },
          who,
          row.state === 'running' ? h('span', { class: 'visually-hidden' }, ' (watch live)') : null,
        ),
      ),
      h('td', {}, row.exerciseTitle),
      h('td', {}, attemptStateBadge(row.state, row.endReason)),
      h('td', {}, row.interviewer?.name ?? h('span', { class: 'muted' }, '—')),
      h('td', {}, timeCell(row.createdAt)),
      h('td', {}, timeCell(row.startedAt)),
      h('td', {}, row.state === 'running' ? h('span', { class: 'muted' }, 'running') : timeCell(row.endedAt)),
      h('td', { class: 'col-number' }, score),
      h('td', { class: 'col-number', 'data-testid': 'attempt-reviews' }, String(row.reviews)),
    );
  }

  private renderPager(total: number): void {
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (pages <= 1) {
      this.pager.replaceChildren();
      return;
    }
    const page = this.query.page;
    const go = (target: number, label: string, testid: string, rel: string): HTMLElement => {
      const disabled = target < 1 || target > pages;
      const link = h(
        'a',
        {
          class: 'button button-small',
          href: disabled ? null : `${location.pathname}${formatQuery({ ...this.query, page: target })}`,
          'aria-disabled': disabled ? 'true' : null,
          rel: disabled ? null : rel,
          'data-testid': testid,
        },
        label,
      );
      // The router follows the link (a new history entry); Back returns to this page.
      return link;
    };
    this.pager.replaceChildren(
      go(page - 1, 'Previous', 'page-previous', 'prev'),
      h('span', { class: 'pager-text', 'data-testid': 'page-text' }, `Page ${page} of ${pages}`),
      go(page + 1, 'Next', 'page-next', 'next'),
    );
  }
}

function formatPoints(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
