// The "Exercises" section of `/manage/invites`: where each exercise comes from (the local folder, or a repository
// without credentials and the commit it was published from), the version new invites pin, and the last version a
// repository pushed that failed its validation or self-test (it was not published: the one shown stays live). The
// repositories' last fetch (and why it failed) and exercises that never passed are listed too.

import type { ExercisePublishFailure, ExerciseRepositoryState, StaffExerciseSummary } from '../../../contract/index.js';
import { shortVersion } from '../../../contract/invites.js';
import { isAbort, request } from '../api.js';
import { clear, h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import { timeCell } from './widgets.js';

interface Listing {
  exercises: StaffExerciseSummary[];
  repositories?: ExerciseRepositoryState[];
  unpublished?: ExercisePublishFailure[];
}

const STAGE = { validation: 'invalid', 'self-test': 'self-test failed', conflict: 'id in two sources' } as const;

function failureBlock(f: ExercisePublishFailure): HTMLElement {
  return h(
    'details',
    { class: 'publish-failure', 'data-testid': 'publish-failure' },
    h('summary', { class: 'message-error' }, `Not published: ${STAGE[f.stage]} at commit ${f.commit.slice(0, 12)} (version ${shortVersion(f.version)})`),
    h('ul', {}, ...f.problems.slice(0, 20).map((p) => h('li', {}, p))),
  );
}

function sourceCell(e: StaffExerciseSummary): HTMLElement {
  const s = e.source;
  if (!s) return h('span', { class: 'muted' }, '');
  if (s.kind === 'local') return h('span', { 'data-testid': 'exercise-source' }, 'local folder', h('span', { class: 'cell-sub muted' }, s.location));
  return h(
    'span',
    { 'data-testid': 'exercise-source' },
    s.location,
    h('span', { class: 'cell-sub muted', 'data-testid': 'exercise-commit', title: s.commit }, `commit ${s.commit.slice(0, 12)}`),
  );
}

export class ExerciseSources {
  readonly element: HTMLElement;
  private readonly body = h('div', {});
  private readonly alert = h('div', { class: 'status-area', role: 'alert' });

  constructor(private readonly scope: Scope) {
    this.element = h(
      'section',
      { class: 'exercise-sources', 'aria-labelledby': 'exercise-sources-title', 'data-testid': 'exercise-sources' },
      h('div', { class: 'staff-toolbar' }, h('h2', { id: 'exercise-sources-title', class: 'section-title' }, 'Exercises')),
      this.alert,
      this.body,
    );
  }

  async load(): Promise<void> {
    try {
      const listing = await request<Listing>('/api/manage/exercises', { signal: this.scope.signal });
      this.render(listing);
    } catch (err) {
      if (isAbort(err)) return;
      this.alert.textContent = errorText(err, 'The exercises could not be loaded.');
    }
  }

  private render(listing: Listing): void {
    clear(this.body);
    for (const r of listing.repositories ?? []) {
      this.body.append(
        h(
          'p',
          { class: r.error ? 'message-error' : 'muted', 'data-testid': 'exercise-repository' },
          `${r.source}: `,
          r.error ? `last fetch failed (${r.error}); the published versions stay live` : r.commit ? `at commit ${r.commit.slice(0, 12)}` : 'not fetched yet',
          r.testing ? ` · self-testing ${r.testing}` : '',
        ),
      );
    }
    const rows = listing.exercises.map((e) =>
      h(
        'tr',
        { 'data-testid': 'exercise-row', 'data-exercise': e.id },
        h('td', {}, e.title, h('span', { class: 'cell-sub muted' }, e.id)),
        h('td', {}, sourceCell(e)),
        h('td', {}, h('span', { title: e.version, 'data-testid': 'exercise-version' }, shortVersion(e.version)), e.source?.kind === 'git' ? h('span', { class: 'cell-sub' }, timeCell(e.source.publishedAt)) : ''),
        h('td', {}, e.lastFailure ? failureBlock(e.lastFailure) : ''),
      ),
    );
    for (const f of listing.unpublished ?? []) {
      rows.push(
        h(
          'tr',
          { 'data-testid': 'exercise-row', 'data-exercise': f.exerciseId },
          h('td', {}, f.exerciseId),
          h('td', {}, f.source),
          h('td', { class: 'muted' }, 'none published'),
          h('td', {}, failureBlock(f)),
        ),
      );
    }
    this.body.append(
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'staff-table', 'data-testid': 'exercise-table' },
          h('caption', { class: 'visually-hidden' }, 'Exercises, where they come from and their published version'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Exercise'), h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col' }, 'Last failed publish'))),
          h('tbody', {}, ...rows),
        ),
      ),
    );
  }
}
