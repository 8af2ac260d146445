// An advisory check on the review page: what only a person can judge. The grader's verdict is preliminary and
// its points are not counted until a reviewer confirms it or overrides it (with a comment); the reviewer can
// withdraw that again. Shows who decided, when, and whether a newer grading says something else since.

import { h, type Scope } from '../dom.js';
import { isAbort } from '../api.js';
import { errorText } from '../ui/errors.js';
import { advisoryNote, CONFIRMATION_LIMITS, reviewApi, type ConfirmedVerdict, type GradeAnswer, type ReviewCheck } from './api.js';

/** The advisory block of one check: its state, and the form to confirm, override or withdraw. */
export function renderAdvisory(
  check: ReviewCheck,
  attemptId: string,
  scope: Scope,
  onChange: (answer: GradeAnswer) => void,
): HTMLElement {
  const c = check.confirmation;
  const id = `advisory-${check.id}`;
  const status = h('p', { class: 'status-area', role: 'status', 'data-testid': 'advisory-status' });
  const note = h(
    'p',
    { class: c ? 'advisory-note' : 'advisory-note advisory-pending', 'data-testid': 'advisory-note' },
    advisoryNote(check),
    c ? ` · ${new Date(c.at).toLocaleString()}` : '',
  );
  const changed = c?.graderChanged
    ? h(
        'p',
        { class: 'message message-info advisory-changed', 'data-testid': 'advisory-grader-changed' },
        `The grader's verdict changed since this was decided: it said ${c.graderVerdict}, the current grading says ${check.verdict}.`,
      )
    : null;
  const comment = c?.comment ? h('p', { class: 'advisory-comment', 'data-testid': 'advisory-comment' }, `“${c.comment}”`) : null;

  // The decision: the grader's verdict first (confirm), the other one as an override.
  const initial: ConfirmedVerdict = c?.verdict ?? (check.verdict === 'fail' ? 'fail' : 'pass');
  const choice = (verdict: ConfirmedVerdict): HTMLElement => {
    const input = h('input', { type: 'radio', name: `${id}-verdict`, value: verdict, 'data-testid': `advisory-verdict-${verdict}` });
    input.checked = verdict === initial;
    const label = verdict === check.verdict ? `${verdict} (as the grader said)` : `${verdict} (override)`;
    return h('label', { class: 'advisory-choice' }, input, ` ${label}`);
  };
  const text = h('textarea', {
    id: `${id}-comment`,
    rows: 2,
    maxlength: CONFIRMATION_LIMITS.comment,
    class: 'advisory-comment-input',
    'data-testid': 'advisory-comment-input',
    placeholder: 'Why (optional; shown to other staff)',
  });
  text.value = c?.comment ?? '';
  const save = h('button', { type: 'submit', class: 'button button-small button-primary', 'data-testid': 'advisory-save' }, c ? 'Save decision' : 'Confirm');
  const withdraw = c
    ? h('button', { type: 'button', class: 'button button-small', 'data-testid': 'advisory-withdraw' }, 'Withdraw')
    : null;
  const form = h(
    'form',
    { class: 'advisory-form', 'aria-label': `Decide on ${check.title}`, 'data-testid': 'advisory-form' },
    h('fieldset', { class: 'advisory-choices' }, h('legend', {}, 'Counts as'), choice('pass'), choice('fail')),
    h('label', { for: `${id}-comment`, class: 'visually-hidden' }, 'Comment'),
    text,
    h('div', { class: 'advisory-actions' }, save, withdraw),
    status,
  );

  const send = async (call: () => Promise<GradeAnswer>, busy: string, failed: string): Promise<void> => {
    for (const b of [save, withdraw]) if (b) b.disabled = true;
    status.replaceChildren(busy);
    try {
      const answer = await call();
      if (scope.disposed) return;
      onChange(answer);
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      for (const b of [save, withdraw]) if (b) b.disabled = false;
      status.replaceChildren(h('span', { class: 'message message-error' }, errorText(err, failed)));
    }
  };
  scope.listen(form, 'submit', (event) => {
    event.preventDefault();
    const picked = form.querySelector<HTMLInputElement>(`input[name="${id}-verdict"]:checked`);
    const verdict = (picked?.value ?? initial) as ConfirmedVerdict;
    const body = { verdict, ...(text.value.trim() ? { comment: text.value.trim() } : {}) };
    void send(() => reviewApi.confirmCheck(attemptId, check.id, body, scope.signal), 'Saving…', 'The decision was not saved.');
  });
  if (withdraw) {
    scope.listen(withdraw, 'click', () => {
      void send(() => reviewApi.withdrawConfirmation(attemptId, check.id, scope.signal), 'Withdrawing…', 'The decision was not withdrawn.');
    });
  }
  return h('div', { class: 'advisory', 'data-testid': 'advisory', 'data-confirmed': c ? c.verdict : 'no' }, note, changed, comment, form);
}
