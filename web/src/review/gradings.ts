// The grading history of an attempt on the review page: every final grading (the first at the end of the
// attempt, then each regrade), which one is current, what changed between them, and the Regrade button.

import { h, type Scope } from '../dom.js';
import { isAbort } from '../api.js';
import { errorText } from '../ui/errors.js';
import { formatGrade, reviewApi, type GradingHistoryEntry, type ReviewBundle } from './api.js';
import { gradingVersionText } from '../../../contract/review.js';

const when = (iso: string) => new Date(iso).toLocaleString();

function entryRow(g: GradingHistoryEntry, exercise: ReviewBundle['exercise']): HTMLElement {
  const who = g.requestedBy ? `regraded by ${g.requestedBy.name}` : 'at the end of the attempt';
  const read = g.source === 'snapshot' ? 'from the stored snapshot' : g.source === 'sandbox' ? 'from the live sandbox' : '';
  const version = gradingVersionText(g.exerciseVersion, exercise.takenVersion, exercise.version);
  const changes = g.changes.length
    ? h(
        'ul',
        { class: 'review-grading-changes', 'data-testid': 'grading-changes' },
        ...g.changes.map((c) => h('li', {}, `${c.title}: ${c.from ?? 'not run'} → ${c.to ?? 'not run'}`)),
      )
    : null;
  return h(
    'li',
    { class: g.current ? 'review-grading review-grading-current' : 'review-grading', 'data-testid': 'grading-entry', 'aria-current': g.current ? 'true' : 'false' },
    h('strong', {}, g.error ? 'did not finish' : formatGrade(g)),
    ' ',
    h('span', { class: 'muted' }, [when(g.finishedAt), who, read, version].filter(Boolean).join(' · ')),
    g.current ? ' ' : '',
    g.current ? h('span', { class: 'badge', 'data-testid': 'grading-current' }, 'current') : '',
    g.error ? h('p', { class: 'message message-error' }, g.error) : '',
    changes ?? '',
  );
}

/** The history list and, when the attempt can be graded again, the Regrade button (reloads the page after). */
export function renderGradings(bundle: ReviewBundle, id: string, scope: Scope, reload: () => void): HTMLElement {
  const list = h('ol', { class: 'review-gradings', 'data-testid': 'grading-history' }, ...bundle.gradings.map((g) => entryRow(g, bundle.exercise)));
  const status = h('p', { class: 'status-area', role: 'status', 'data-testid': 'regrade-status' });
  const box = h('div', { class: 'review-gradings-box' }, bundle.gradings.length ? list : h('p', { class: 'muted' }, 'No final grading yet.'));
  if (bundle.regradeRefusal) {
    box.append(h('p', { class: 'muted', 'data-testid': 'regrade-refusal' }, `Regrade: ${bundle.regradeRefusal}`));
    return box;
  }
  const button = h('button', { type: 'button', class: 'button', 'data-testid': 'regrade' }, 'Regrade from the snapshot');
  scope.listen(button, 'click', () => {
    void (async () => {
      button.disabled = true;
      status.replaceChildren('Grading again…');
      try {
        await reviewApi.regrade(id, scope.signal);
        reload();
      } catch (err) {
        if (isAbort(err) || scope.disposed) return;
        button.disabled = false;
        status.replaceChildren(h('span', { class: 'message message-error' }, errorText(err, 'The regrade did not run.')));
      }
    })();
  });
  box.append(
    h('p', { class: 'muted' }, "Runs the exercise's current checks again on the files kept at the end of the attempt. Every grading is kept; the newest counts."),
    button,
    status,
  );
  return box;
}
