// The dashboard's list: a table whose column heads sort it, a summary line, a pager, and what to do when it is empty.

import { h, type Scope } from '../dom.js';
import { plural } from '../ui/format.js';
import { gradePercent } from '../../../contract/grade.js';
import { attemptHref, type AttemptPage, type AttemptRow, type AttemptSort, type SortOrder } from './api.js';
import { FIRST_ORDER, PAGE_SIZE, formatQuery, hasFilters, type DashboardQuery } from './attempt-query.js';
import { attemptStateBadge, timeCell } from './widgets.js';

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

export interface AttemptTableOptions {
  scope: Scope;
  /** The query as it is now. */
  query(): DashboardQuery;
  /** A column head was pressed: show the list for `query`. */
  onChange(query: DashboardQuery): void;
  /** "Clear filters" in the empty list. */
  onClearFilters(): void;
}

export class AttemptTable {
  readonly summary = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'attempts-summary' });
  readonly empty = h('div', { class: 'attempts-empty', 'data-testid': 'attempts-empty', hidden: true });
  private readonly headRow = h('tr', {});
  private readonly tbody = h('tbody', {});
  readonly table = h(
    'table',
    { class: 'staff-table attempts-table', 'data-testid': 'attempts-table' },
    h('caption', { class: 'visually-hidden', id: 'attempts-caption' }, 'Attempts'),
    h('thead', {}, this.headRow),
    this.tbody,
  );
  readonly pager = h('nav', { class: 'pager', 'aria-label': 'Pages', 'data-testid': 'pager' });

  constructor(private readonly options: AttemptTableOptions) {}

  /** The column heads, marked with the current sort. */
  renderHead(): void {
    const query = this.options.query();
    this.headRow.replaceChildren(
      ...COLUMNS.map((column) => {
        const th = h('th', { scope: 'col', class: column.className ?? null });
        if (!column.sort) {
          th.append(column.label);
          return th;
        }
        const active = query.sort === column.sort;
        th.setAttribute('aria-sort', active ? (query.order === 'asc' ? 'ascending' : 'descending') : 'none');
        const sort = column.sort;
        const button = h(
          'button',
          { type: 'button', class: 'sort-button', 'data-testid': `sort-${sort}`, 'data-sort': sort },
          column.label,
          h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (query.order === 'asc' ? '▲' : '▼') : '↕'),
        );
        button.addEventListener(
          'click',
          () => {
            const order: SortOrder = active ? (query.order === 'asc' ? 'desc' : 'asc') : FIRST_ORDER[sort];
            this.options.onChange({ ...query, sort, order, page: 1 });
            this.headRow.querySelector<HTMLButtonElement>(`[data-sort="${sort}"]`)?.focus();
          },
          { signal: this.options.scope.signal },
        );
        th.append(button);
        return th;
      }),
    );
  }

  setBusy(busy: boolean): void {
    if (busy) this.table.setAttribute('aria-busy', 'true');
    else this.table.removeAttribute('aria-busy');
  }

  render(result: AttemptPage): void {
    const query = this.options.query();
    const { attempts, total } = result;
    const filtered = hasFilters(query);
    this.table.dataset['total'] = String(total);
    if (total === 0) {
      this.summary.textContent = filtered ? 'No attempts match these filters.' : 'No attempts yet.';
      this.table.hidden = true;
      this.tbody.replaceChildren();
      this.pager.replaceChildren();
      this.empty.hidden = false;
      this.renderEmpty(filtered);
      return;
    }
    this.empty.hidden = true;
    this.empty.replaceChildren();
    this.table.hidden = false;
    const first = (query.page - 1) * PAGE_SIZE + 1;
    const last = first + attempts.length - 1;
    this.summary.textContent = `${first}–${last} of ${plural(total, 'attempt')}${filtered ? ' matching the filters' : ''}.`;
    // A refresh keeps the keyboard focus on the same row's link.
    const active = document.activeElement;
    const activeRow = active instanceof HTMLElement && this.tbody.contains(active) ? active.closest<HTMLElement>('[data-attempt-id]')?.dataset['attemptId'] : undefined;
    this.tbody.replaceChildren(...attempts.map((row) => attemptRow(row)));
    if (activeRow) this.tbody.querySelector<HTMLElement>(`[data-attempt-id="${CSS.escape(activeRow)}"] .row-link`)?.focus();
    this.renderPager(query, total);
  }

  private renderEmpty(filtered: boolean): void {
    if (filtered) {
      const clear = h('button', { type: 'button', class: 'button' }, 'Clear filters');
      clear.addEventListener('click', () => this.options.onClearFilters(), { signal: this.options.scope.signal });
      this.empty.replaceChildren(
        h('h2', { class: 'empty-title' }, 'Nothing matches these filters'),
        h('p', { class: 'muted' }, 'Try another state or a wider score range.'),
        clear,
      );
      return;
    }
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

  private renderPager(query: DashboardQuery, total: number): void {
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (pages <= 1) {
      this.pager.replaceChildren();
      return;
    }
    const page = query.page;
    // The router follows these links (a new history entry); Back returns to this page.
    const go = (target: number, label: string, testid: string, rel: string): HTMLElement => {
      const disabled = target < 1 || target > pages;
      return h(
        'a',
        {
          class: 'button button-small',
          href: disabled ? null : `${location.pathname}${formatQuery({ ...query, page: target })}`,
          'aria-disabled': disabled ? 'true' : null,
          rel: disabled ? null : rel,
          'data-testid': testid,
        },
        label,
      );
    };
    this.pager.replaceChildren(
      go(page - 1, 'Previous', 'page-previous', 'prev'),
      h('span', { class: 'pager-text', 'data-testid': 'page-text' }, `Page ${page} of ${pages}`),
      go(page + 1, 'Next', 'page-next', 'next'),
    );
  }
}

function attemptRow(row: AttemptRow): HTMLTableRowElement {
  const href = attemptHref(row.id, row.state);
  const who = row.candidateName ?? (row.mode === 'practice' ? 'Practice attempt' : 'Unnamed candidate');
  const score =
    row.score === null || row.maxScore === null
      ? h('span', { class: 'muted' }, row.state === 'running' || row.state === 'created' ? 'in progress' : '—')
      : h(
          'span',
          { 'data-testid': 'attempt-score' },
          `${formatPoints(row.score)} / ${formatPoints(row.maxScore)}`,
          h('span', { class: 'cell-sub muted' }, row.maxScore > 0 ? `${gradePercent(row.score, row.maxScore)}%` : 'ungraded'),
          row.pendingPoints
            ? h('span', { class: 'cell-sub muted', 'data-testid': 'attempt-pending' }, `+${formatPoints(row.pendingPoints)} awaiting review`)
            : null,
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

function formatPoints(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
