// `/manage`: every attempt the staff can see, filtered (state, exercise, interviewer, score), sorted by a column
// and paged. Filters, sort and page live in the URL query, so a reload or Back shows the same list.

import '../../manage/dashboard.css';
import { isAbort } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { manageApi, type AttemptPage } from '../../manage/api.js';
import { AttemptFilters } from '../../manage/attempt-filters.js';
import { PAGE_SIZE, exportCsvHref, formatQuery, parseQuery, toApiQuery, type DashboardQuery } from '../../manage/attempt-query.js';
import { AttemptTable } from '../../manage/attempt-table.js';
import { staffPage } from '../../manage/layout.js';
import type { User } from '../../manage/session.js';
import type { PageContext } from '../../router.js';
import { errorText } from '../../ui/errors.js';
import { spinner } from '../../ui/layout.js';

/** Running attempts change under the list; it is fetched again this often while the page is visible. */
const REFRESH_MS = 20_000;

export default async function dashboardPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Attempts', 'dashboard');
  if (!frame || ctx.scope.disposed) return;
  const page = new Dashboard(frame.main, ctx.scope, frame.user);
  await page.start();
}

class Dashboard {
  private query: DashboardQuery = parseQuery(location.search);
  private loadSeq = 0;
  private loading = false;
  private readonly filters: AttemptFilters;
  private readonly list: AttemptTable;
  private readonly alert = h('div', { class: 'status-area', role: 'alert' });
  /** Downloads every attempt of the current filter (not only this page) as CSV. */
  private readonly exportLink = h(
    'a',
    { class: 'button', download: '', 'data-testid': 'export-csv', title: 'Every attempt of the current filter, as a spreadsheet file' },
    'Export CSV',
  );

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
    user: User,
  ) {
    this.filters = new AttemptFilters({ scope, user, query: () => this.query, onChange: (query) => this.update(query) });
    this.list = new AttemptTable({
      scope,
      query: () => this.query,
      onChange: (query) => this.update(query),
      onClearFilters: () => this.filters.clear(),
    });
    this.main.classList.add('dashboard-page');
    const heading = h('h1', { tabindex: -1 }, 'Attempts');
    this.list.renderHead();
    this.main.append(
      h(
        'div',
        { class: 'dashboard-head' },
        heading,
        h(
          'div',
          { class: 'dashboard-actions' },
          this.exportLink,
          h('a', { href: '/manage/invites', class: 'button button-primary', 'data-testid': 'new-invite-link' }, 'New invite'),
        ),
      ),
      this.filters.element,
      this.alert,
      this.list.summary,
      this.list.empty,
      h('div', { class: 'table-scroll' }, this.list.table),
      this.list.pager,
    );
    this.exportLink.href = exportCsvHref(this.query);
    heading.focus({ preventScroll: true });

    scope.interval(() => {
      if (document.visibilityState === 'visible' && !this.loading) void this.load({ quiet: true });
    }, REFRESH_MS);
  }

  async start(): Promise<void> {
    await Promise.all([this.filters.load(), this.load()]);
  }

  /** Takes a new query: into the URL (the same history entry) and the list. */
  private update(query: DashboardQuery): void {
    this.query = query;
    const url = `${location.pathname}${formatQuery(query)}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    this.filters.sync();
    this.exportLink.href = exportCsvHref(query);
    this.list.renderHead();
    void this.load();
  }

  private async load(options: { quiet?: boolean } = {}): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading = true;
    this.list.setBusy(true);
    if (!options.quiet) this.list.summary.replaceChildren(spinner(), 'Loading attempts…');
    let result: AttemptPage;
    try {
      result = await manageApi.listAttempts(toApiQuery(this.query), this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed || seq !== this.loadSeq) return;
      this.loading = false;
      this.list.setBusy(false);
      if (options.quiet) return;
      this.list.summary.replaceChildren();
      const retry = h('button', { type: 'button', class: 'button button-small' }, 'Try again');
      retry.addEventListener('click', () => void this.load(), { signal: this.scope.signal });
      this.alert.replaceChildren(
        h('div', { class: 'message message-error', 'data-testid': 'attempts-error' }, errorText(err, 'The attempts could not be loaded.'), retry),
      );
      return;
    }
    if (this.scope.disposed || seq !== this.loadSeq) return;
    this.loading = false;
    this.list.setBusy(false);
    this.alert.replaceChildren();
    const lastPage = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    if (this.query.page > lastPage && result.total > 0) {
      // The list shrank (or the URL pointed past its end): show the last page instead.
      this.update({ ...this.query, page: lastPage });
      return;
    }
    const names = this.filters.interviewerNames;
    for (const row of result.attempts) {
      if (row.interviewer && !names.has(row.interviewer.id)) names.set(row.interviewer.id, row.interviewer.name);
    }
    this.list.render(result);
  }
}
