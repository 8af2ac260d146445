// `/manage/invites`: create an invite for a candidate (the link to send comes back with a copy button) and manage
// the invites: copy a link again, revoke, add time, open the attempt. Filters live in the URL query.

import '../../manage/invites.css';
import { api, isAbort, type ExerciseSummary } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import {
  EXTEND_MINUTES,
  INVITE_STATUSES,
  attemptHref,
  manageApi,
  type CreateInviteBody,
  type Invite,
  type InviteStatus,
} from '../../manage/api.js';
import { staffPage } from '../../manage/layout.js';
import {
  copyMessage,
  copyText,
  inviteStatusBadge,
  inviteStatusLabel,
  minutesDialog,
  timeCell,
} from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { confirmDialog } from '../../ui/dialog.js';
import { errorText } from '../../ui/errors.js';
import { formatMinutes, plural } from '../../ui/format.js';
import { spinner } from '../../ui/layout.js';
import { Toaster } from '../../ui/toast.js';

/** Limits the form checks before sending; the server checks them again. */
export const INVITE_LIMITS = {
  nameMax: 200,
  emailMax: 254,
  noteMax: 2000,
  timeLimitMinutes: { min: 1, max: 8 * 60 },
  expiresInDays: { min: 1, max: 90 },
  defaultExpiresInDays: 7,
} as const;

/** How often the list is fetched again while the page is visible (a candidate may start meanwhile). */
const REFRESH_MS = 15_000;

export default async function invitesPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Invites', 'invites');
  if (!frame || ctx.scope.disposed) return;
  const page = new InvitesPage(frame.main, ctx.scope);
  await page.start();
}

interface Field<E extends HTMLElement> {
  input: E;
  error: HTMLElement;
  wrap: HTMLElement;
}

class InvitesPage {
  private readonly toaster = new Toaster();
  private exercises: ExerciseSummary[] = [];
  private invites: Invite[] = [];
  private listLoading = false;
  private timeLimitEdited = false;

  // ---- create form ---------------------------------------------------------------------------------------
  private readonly formAlert = h('div', { class: 'status-area', role: 'alert', 'data-testid': 'invite-form-alert' });
  private readonly exercise = this.field('exercise', 'Exercise', h('select', { required: true, 'data-testid': 'invite-exercise' }));
  private readonly candidateName = this.field(
    'name',
    'Candidate name',
    h('input', { type: 'text', required: true, autocomplete: 'off', maxlength: INVITE_LIMITS.nameMax, 'data-testid': 'invite-name' }),
  );
  private readonly candidateEmail = this.field(
    'email',
    'Candidate email',
    h('input', { type: 'email', required: true, autocomplete: 'off', maxlength: INVITE_LIMITS.emailMax, 'data-testid': 'invite-email' }),
  );
  private readonly timeLimit = this.field(
    'time-limit',
    'Time limit (minutes)',
    h('input', {
      type: 'number',
      inputmode: 'numeric',
      required: true,
      min: INVITE_LIMITS.timeLimitMinutes.min,
      max: INVITE_LIMITS.timeLimitMinutes.max,
      step: 1,
      'data-testid': 'invite-time-limit',
    }),
    'The exercise’s own limit by default.',
  );
  private readonly expires = this.field(
    'expires',
    'Link expires in (days)',
    h('input', {
      type: 'number',
      inputmode: 'numeric',
      required: true,
      min: INVITE_LIMITS.expiresInDays.min,
      max: INVITE_LIMITS.expiresInDays.max,
      step: 1,
      value: INVITE_LIMITS.defaultExpiresInDays,
      'data-testid': 'invite-expires',
    }),
    'They must start before then.',
  );
  private readonly note = this.field(
    'note',
    'Note for interviewers (optional)',
    h('textarea', { rows: 1, maxlength: INVITE_LIMITS.noteMax, 'data-testid': 'invite-note' }),
    'Not shown to the candidate.',
  );
  private readonly showFeedback = h('input', { type: 'checkbox', id: 'invite-feedback', 'data-testid': 'invite-feedback' });
  private readonly createButton = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'create-invite' }, 'Create invite');
  private readonly form: HTMLFormElement;
  private readonly created = h('div', { class: 'invite-created-area', 'data-testid': 'invite-created-area' });

  // ---- list ----------------------------------------------------------------------------------------------
  private readonly statusFilter = h(
    'select',
    { id: 'filter-status', 'data-testid': 'filter-status' },
    h('option', { value: '' }, 'All statuses'),
    ...INVITE_STATUSES.map((status) => h('option', { value: status }, inviteStatusLabel(status))),
  );
  private readonly exerciseFilter = h(
    'select',
    { id: 'filter-exercise', 'data-testid': 'filter-exercise' },
    h('option', { value: '' }, 'All exercises'),
  );
  private readonly refreshButton = h('button', { type: 'button', class: 'button button-small', 'data-testid': 'refresh-invites' }, 'Refresh');
  private readonly listStatus = h('p', { class: 'list-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'invite-list-status' });
  private readonly listAlert = h('div', { class: 'status-area', role: 'alert' });
  private readonly tbody = h('tbody', {});
  private readonly table = h(
    'table',
    { class: 'staff-table invite-table', 'data-testid': 'invite-table' },
    h('caption', { class: 'visually-hidden' }, 'Invites, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Candidate', 'Exercise', 'Status', 'Created by', 'Created', 'Expires'].map((label) => h('th', { scope: 'col' }, label)),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    this.tbody,
  );

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
  ) {
    this.main.classList.add('invites-page');
    const heading = h('h1', { tabindex: -1 }, 'Invites');

    this.form = h(
      'form',
      { class: 'staff-form invite-form', novalidate: true, 'aria-labelledby': 'new-invite-title', 'data-testid': 'invite-form' },
      this.formAlert,
      h(
        'div',
        { class: 'invite-form-grid' },
        this.exercise.wrap,
        this.timeLimit.wrap,
        this.expires.wrap,
        this.candidateName.wrap,
        this.candidateEmail.wrap,
        this.note.wrap,
      ),
      h(
        'div',
        { class: 'form-actions' },
        h(
          'div',
          { class: 'form-check' },
          this.showFeedback,
          h(
            'label',
            { for: 'invite-feedback' },
            'Show check feedback to the candidate',
            h('span', { class: 'field-hint' }, 'They can run the checks during the attempt and see which pass.'),
          ),
        ),
        this.createButton,
      ),
    );

    this.main.append(
      heading,
      h('p', { class: 'lead' }, 'Each invite is one candidate’s link to one timed attempt. The clock starts when they press Start.'),
      h(
        'section',
        { class: 'invite-new staff-panel staff-section', 'aria-labelledby': 'new-invite-title' },
        h('h2', { id: 'new-invite-title', class: 'section-title' }, 'New invite'),
        this.form,
        this.created,
      ),
      h(
        'section',
        { class: 'invite-list', 'aria-labelledby': 'invite-list-title' },
        h(
          'div',
          { class: 'staff-toolbar' },
          h('h2', { id: 'invite-list-title', class: 'section-title' }, 'Invites'),
          h('label', { for: 'filter-status', class: 'toolbar-label' }, 'Status'),
          this.statusFilter,
          h('label', { for: 'filter-exercise', class: 'toolbar-label' }, 'Exercise'),
          this.exerciseFilter,
          this.refreshButton,
        ),
        this.listAlert,
        this.listStatus,
        h('div', { class: 'table-scroll' }, this.table),
      ),
      this.toaster.element,
    );
    scope.add(() => this.toaster.dispose());
    heading.focus({ preventScroll: true });

    const query = new URLSearchParams(location.search);
    const status = query.get('status') ?? '';
    if ((INVITE_STATUSES as readonly string[]).includes(status)) this.statusFilter.value = status;

    scope.listen(this.form, 'submit', (event) => {
      event.preventDefault();
      void this.create();
    });
    scope.listen(this.exercise.input, 'change', () => this.onExerciseChange());
    scope.listen(this.timeLimit.input, 'input', () => (this.timeLimitEdited = true));
    for (const field of [this.exercise, this.candidateName, this.candidateEmail, this.timeLimit, this.expires, this.note]) {
      // A fixed field loses its message as soon as it is valid again (while typing, so nothing moves on blur).
      scope.listen(field.input, field.input instanceof HTMLSelectElement ? 'change' : 'input', () => {
        if (field.input.getAttribute('aria-invalid') === 'true') this.validate(false);
      });
    }
    scope.listen(this.statusFilter, 'change', () => this.onFilterChange());
    scope.listen(this.exerciseFilter, 'change', () => this.onFilterChange());
    scope.listen(this.refreshButton, 'click', () => void this.loadInvites());
    scope.interval(() => {
      if (document.visibilityState !== 'visible' || this.listLoading) return;
      // A link shown for Ctrl+C stays until it has been copied (the next action or refresh replaces it).
      if (this.tbody.querySelector('.row-link-field:not([hidden])')) return;
      void this.loadInvites({ quiet: true });
    }, REFRESH_MS);
  }

  async start(): Promise<void> {
    await Promise.all([this.loadExercises(), this.loadInvites()]);
  }

  private field<E extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
    id: string,
    label: string,
    input: E,
    hint?: string,
  ): Field<E> {
    const inputId = `invite-${id}`;
    const errorId = `${inputId}-error`;
    const hintId = `${inputId}-hint`;
    input.id = inputId;
    input.setAttribute('aria-describedby', hint ? `${hintId} ${errorId}` : errorId);
    const error = h('p', { id: errorId, class: 'field-error', 'data-testid': `${inputId}-error` });
    const wrap = h(
      'div',
      { class: `form-field form-field-${id}` },
      h('label', { for: inputId }, label),
      input,
      hint ? h('p', { id: hintId, class: 'field-hint' }, hint) : null,
      error,
    );
    return { input, error, wrap };
  }

  // ---- exercises -----------------------------------------------------------------------------------------

  private async loadExercises(): Promise<void> {
    const select = this.exercise.input;
    select.replaceChildren(h('option', { value: '' }, 'Loading exercises…'));
    select.disabled = true;
    try {
      this.exercises = await api.listExercises(this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      const retry = h('button', { type: 'button', class: 'button button-small' }, 'Try again');
      retry.addEventListener('click', () => void this.loadExercises(), { signal: this.scope.signal });
      this.formAlert.replaceChildren(
        h('div', { class: 'message message-error' }, errorText(err, 'The exercises could not be loaded.'), retry),
      );
      select.replaceChildren(h('option', { value: '' }, 'No exercises loaded'));
      return;
    }
    if (this.scope.disposed) return;
    this.formAlert.replaceChildren();
    select.disabled = false;
    select.replaceChildren(
      h('option', { value: '' }, 'Choose an exercise…'),
      ...this.exercises.map((e) => h('option', { value: e.id }, `${e.title} (${formatMinutes(e.timeLimitMinutes)})`)),
    );
    if (this.exercises.length === 1) select.value = this.exercises[0]!.id;
    this.onExerciseChange();

    const wanted = new URLSearchParams(location.search).get('exercise') ?? this.exerciseFilter.value;
    this.exerciseFilter.replaceChildren(
      h('option', { value: '' }, 'All exercises'),
      ...this.exercises.map((e) => h('option', { value: e.id }, e.title)),
    );
    if (this.exercises.some((e) => e.id === wanted)) this.exerciseFilter.value = wanted;
  }

  private selectedExercise(): ExerciseSummary | undefined {
    return this.exercises.find((e) => e.id === this.exercise.input.value);
  }

  private onExerciseChange(): void {
    const exercise = this.selectedExercise();
    const hint = this.timeLimit.wrap.querySelector('.field-hint');
    if (!exercise) {
      if (hint) hint.textContent = 'The exercise’s own limit by default.';
      return;
    }
    if (hint) hint.textContent = `${exercise.title} has ${formatMinutes(exercise.timeLimitMinutes)}.`;
    if (!this.timeLimitEdited || this.timeLimit.input.value.trim() === '') {
      this.timeLimit.input.value = String(exercise.timeLimitMinutes);
      this.timeLimitEdited = false;
    }
  }

  // ---- create --------------------------------------------------------------------------------------------

  private setError(field: Field<HTMLElement>, message: string | null): void {
    field.error.textContent = message ?? '';
    if (message) field.input.setAttribute('aria-invalid', 'true');
    else field.input.removeAttribute('aria-invalid');
  }

  /** Checks the form; shows a message at each wrong field. Returns the body to send, or null. */
  private validate(focus: boolean): CreateInviteBody | null {
    const problems: Field<HTMLElement>[] = [];
    const check = (field: Field<HTMLElement>, message: string | null): void => {
      this.setError(field, message);
      if (message) problems.push(field);
    };

    const exercise = this.selectedExercise();
    check(this.exercise, exercise ? null : 'Choose the exercise the candidate will work on.');

    const name = this.candidateName.input.value.trim();
    check(
      this.candidateName,
      name === ''
        ? 'Enter the candidate’s name.'
        : name.length > INVITE_LIMITS.nameMax
          ? `The name can be at most ${INVITE_LIMITS.nameMax} characters.`
          : null,
    );

    const email = this.candidateEmail.input.value.trim();
    check(
      this.candidateEmail,
      email === ''
        ? 'Enter the candidate’s email address.'
        : !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > INVITE_LIMITS.emailMax
          ? 'Enter an email address like name@example.com.'
          : null,
    );

    const limits = INVITE_LIMITS.timeLimitMinutes;
    const minutesText = this.timeLimit.input.value.trim();
    const minutes = Number(minutesText);
    check(
      this.timeLimit,
      minutesText === '' || !Number.isInteger(minutes) || minutes < limits.min || minutes > limits.max
        ? `Enter the time limit in whole minutes, from ${limits.min} to ${limits.max} (${formatMinutes(limits.max)}).`
        : null,
    );

    const days = INVITE_LIMITS.expiresInDays;
    const daysText = this.expires.input.value.trim();
    const expiresInDays = Number(daysText);
    check(
      this.expires,
      daysText === '' || !Number.isInteger(expiresInDays) || expiresInDays < days.min || expiresInDays > days.max
        ? `Enter a whole number of days from ${days.min} to ${days.max}.`
        : null,
    );

    const note = this.note.input.value.trim();
    check(this.note, note.length > INVITE_LIMITS.noteMax ? `The note can be at most ${INVITE_LIMITS.noteMax} characters.` : null);

    const summary = (): HTMLElement =>
      h(
        'p',
        { class: 'message message-error', 'data-testid': 'invite-form-error' },
        problems.length === 1
          ? 'One field needs a fix before the invite can be created.'
          : `${problems.length} fields need a fix before the invite can be created.`,
      );
    const shown = this.formAlert.querySelector('[data-testid="invite-form-error"]') !== null;
    if (problems.length > 0) {
      if (focus) {
        this.formAlert.replaceChildren(summary());
        problems[0]!.input.focus();
      } else if (shown) {
        // Keep the count in step while the fields are being fixed.
        this.formAlert.querySelector('[data-testid="invite-form-error"]')!.textContent = summary().textContent;
      }
      return null;
    }
    if (focus || shown) this.formAlert.replaceChildren();
    const body: CreateInviteBody = {
      exerciseId: exercise!.id,
      candidateName: name,
      candidateEmail: email,
      showFeedback: this.showFeedback.checked,
      expiresInDays,
    };
    // Only an override is sent; otherwise the exercise's limit applies.
    if (minutes !== exercise!.timeLimitMinutes) body.timeLimitMinutes = minutes;
    if (note !== '') body.note = note;
    return body;
  }

  private async create(): Promise<void> {
    if (this.createButton.disabled) return;
    const body = this.validate(true);
    if (!body) return;
    this.createButton.disabled = true;
    this.createButton.setAttribute('aria-busy', 'true');
    this.createButton.replaceChildren(spinner(), 'Creating…');
    try {
      const invite = await manageApi.createInvite(body, this.scope.signal);
      if (this.scope.disposed) return;
      this.showCreated(invite);
      this.candidateName.input.value = '';
      this.candidateEmail.input.value = '';
      this.note.input.value = '';
      void this.loadInvites({ quiet: true });
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.formAlert.replaceChildren(
        h('p', { class: 'message message-error', 'data-testid': 'invite-form-error' }, errorText(err, 'The invite could not be created.')),
      );
      this.createButton.focus();
    } finally {
      if (!this.scope.disposed) {
        this.createButton.disabled = false;
        this.createButton.removeAttribute('aria-busy');
        this.createButton.textContent = 'Create invite';
      }
    }
  }

  private showCreated(invite: Invite): void {
    const linkField = h('input', {
      type: 'text',
      readonly: true,
      value: invite.link,
      id: 'created-link',
      'aria-label': `Invite link for ${invite.candidateName}`,
      'data-testid': 'created-link',
    });
    const copyStatus = h('p', { class: 'copy-status', role: 'status', 'data-testid': 'copy-status' });
    const copy = h('button', { type: 'button', class: 'button button-primary', 'data-testid': 'copy-created-link' }, 'Copy link');
    copy.addEventListener(
      'click',
      () =>
        void copyText(invite.link, linkField).then((outcome) => {
          copyStatus.textContent = copyMessage(outcome);
        }),
      { signal: this.scope.signal },
    );
    const dismiss = h('button', { type: 'button', class: 'button button-small' }, 'Done');
    dismiss.addEventListener(
      'click',
      () => {
        this.created.replaceChildren();
        this.candidateName.input.focus();
      },
      { signal: this.scope.signal },
    );
    const title = h('h3', { class: 'copy-box-title', tabindex: -1 }, `Invite created for ${invite.candidateName}`);
    this.created.replaceChildren(
      h(
        'div',
        { class: 'copy-box', 'data-testid': 'invite-created', 'data-invite-id': invite.id },
        title,
        h(
          'p',
          { class: 'muted' },
          `Send this link to ${invite.candidateEmail}. It expires `,
          timeCell(invite.expiresAt),
          '. Anyone with the link can start the attempt, so send it to the candidate only.',
        ),
        h('div', { class: 'copy-row' }, linkField, copy, dismiss),
        copyStatus,
      ),
    );
    copy.focus();
  }

  // ---- list ----------------------------------------------------------------------------------------------

  private onFilterChange(): void {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of [
      ['status', this.statusFilter.value],
      ['exercise', this.exerciseFilter.value],
    ] as const) {
      if (value) params.set(key, value);
      else params.delete(key);
    }
    const qs = params.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
    void this.loadInvites();
  }

  private async loadInvites(options: { quiet?: boolean } = {}): Promise<void> {
    this.listLoading = true;
    this.table.setAttribute('aria-busy', 'true');
    if (!options.quiet) this.listStatus.replaceChildren(spinner(), 'Loading invites…');
    const status = this.statusFilter.value as InviteStatus | '';
    const exerciseId = this.exerciseFilter.value || new URLSearchParams(location.search).get('exercise') || '';
    try {
      const invites = await manageApi.listInvites({ status, exerciseId }, this.scope.signal);
      if (this.scope.disposed) return;
      this.listAlert.replaceChildren();
      this.invites = invites;
      this.renderRows();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.listStatus.replaceChildren();
      if (options.quiet) return;
      this.listAlert.replaceChildren(
        h('p', { class: 'message message-error', 'data-testid': 'invite-list-error' }, errorText(err, 'The invites could not be loaded.')),
      );
    } finally {
      this.listLoading = false;
      this.table.removeAttribute('aria-busy');
    }
  }

  private renderRows(): void {
    // Keep the keyboard focus on the same control of the same row across a refresh.
    const active = document.activeElement;
    const activeRow = active instanceof HTMLElement ? active.closest<HTMLElement>('[data-invite-id]')?.dataset['inviteId'] : undefined;
    const activeAction = active instanceof HTMLElement ? active.dataset['action'] : undefined;

    const filtered = this.statusFilter.value !== '' || this.exerciseFilter.value !== '';
    this.listStatus.textContent =
      this.invites.length === 0 ? '' : filtered ? `${plural(this.invites.length, 'invite')} match.` : `${plural(this.invites.length, 'invite')}.`;
    if (this.invites.length === 0) {
      this.tbody.replaceChildren(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: 7, class: 'table-empty', 'data-testid': 'invites-empty' },
            filtered ? 'No invites match these filters.' : 'No invites yet. Create the first one above.',
          ),
        ),
      );
      return;
    }
    this.tbody.replaceChildren(...this.invites.map((invite) => this.row(invite)));
    if (activeRow && activeAction) {
      this.tbody.querySelector<HTMLElement>(`[data-invite-id="${CSS.escape(activeRow)}"] [data-action="${CSS.escape(activeAction)}"]`)?.focus();
    }
  }

  private row(invite: Invite): HTMLTableRowElement {
    const nameId = `invite-${invite.id}-name`;
    const actions = h('div', { class: 'row-actions' });
    const linkField = h('input', {
      type: 'text',
      readonly: true,
      hidden: true,
      class: 'row-link-field',
      'aria-label': `Invite link for ${invite.candidateName}`,
      'data-testid': 'row-link-field',
    });
    const live = invite.status === 'pending' || invite.status === 'running';

    const button = (label: string, action: string, handler: (button: HTMLButtonElement) => void): HTMLButtonElement => {
      const el = h(
        'button',
        { type: 'button', class: 'button button-small', 'data-action': action, 'data-testid': action, 'aria-describedby': nameId },
        label,
      );
      el.addEventListener('click', () => handler(el), { signal: this.scope.signal });
      return el;
    };

    if (live) {
      actions.append(
        button('Copy link', 'copy-link', () => {
          void copyText(invite.link, linkField).then((outcome) => this.toaster.show(copyMessage(outcome)));
        }),
      );
    }
    if (invite.status === 'running' && invite.attemptId) {
      actions.append(
        h(
          'a',
          { href: attemptHref(invite.attemptId, 'running'), class: 'button button-small', 'data-action': 'open', 'data-testid': 'open-attempt', 'aria-describedby': nameId },
          'Watch live',
        ),
      );
    } else if (invite.attemptId) {
      actions.append(
        h(
          'a',
          { href: attemptHref(invite.attemptId, 'finished'), class: 'button button-small', 'data-action': 'open', 'data-testid': 'open-attempt', 'aria-describedby': nameId },
          'Review',
        ),
      );
    }
    if (live) {
      actions.append(
        button('Add time', 'extend', (el) => void this.extend(invite, el)),
        button('Revoke', 'revoke', (el) => void this.revoke(invite, el)),
      );
    }

    return h(
      'tr',
      { 'data-testid': 'invite-row', 'data-invite-id': invite.id, 'data-status': invite.status },
      h(
        'td',
        { class: 'cell-candidate' },
        h('span', { id: nameId, class: 'candidate-name', tabindex: -1, 'data-testid': 'invite-candidate' }, invite.candidateName),
        h('span', { class: 'candidate-email muted' }, invite.candidateEmail),
      ),
      h(
        'td',
        {},
        h('span', { 'data-testid': 'invite-exercise' }, invite.exerciseTitle),
        h('span', { class: 'cell-sub muted', 'data-testid': 'invite-time-limit-cell' }, formatMinutes(invite.timeLimitSeconds / 60)),
      ),
      h('td', {}, inviteStatusBadge(invite.status)),
      h('td', {}, invite.createdBy.name),
      h('td', {}, timeCell(invite.createdAt)),
      h('td', {}, invite.status === 'pending' || invite.status === 'expired' ? timeCell(invite.expiresAt) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'cell-actions' }, actions, linkField),
    );
  }

  private replaceInvite(updated: Invite): void {
    this.invites = this.invites.map((i) => (i.id === updated.id ? updated : i));
    this.renderRows();
  }

  private focusRow(id: string): void {
    this.tbody.querySelector<HTMLElement>(`[data-invite-id="${CSS.escape(id)}"] .candidate-name`)?.focus();
  }

  private async revoke(invite: Invite, button: HTMLButtonElement): Promise<void> {
    const running = invite.status === 'running';
    const ok = await confirmDialog({
      title: `Revoke the invite for ${invite.candidateName}?`,
      body: running
        ? 'The link stops working at once and the running attempt ends now. What the candidate did so far is graded and kept.'
        : 'The link stops working at once. This cannot be undone; create a new invite if they should try again.',
      confirmLabel: running ? 'Revoke and end the attempt' : 'Revoke',
      cancelLabel: 'Keep it',
      signal: this.scope.signal,
    });
    if (!ok || this.scope.disposed) {
      if (!this.scope.disposed) button.focus();
      return;
    }
    button.disabled = true;
    try {
      const updated = await manageApi.revokeInvite(invite.id, this.scope.signal);
      if (this.scope.disposed) return;
      this.replaceInvite(updated);
      this.focusRow(updated.id);
      this.toaster.show(`The invite for ${invite.candidateName} is revoked.`);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      button.disabled = false;
      this.toaster.show(errorText(err, 'The invite could not be revoked.'), 'error');
      void this.loadInvites({ quiet: true });
    }
  }

  private async extend(invite: Invite, button: HTMLButtonElement): Promise<void> {
    const running = invite.status === 'running';
    const minutes = await minutesDialog({
      title: `Add time for ${invite.candidateName}`,
      body: running
        ? 'The running attempt’s deadline moves later by this many minutes. The candidate sees the new time at once.'
        : `The time limit (now ${formatMinutes(invite.timeLimitSeconds / 60)}) grows by this many minutes.`,
      label: 'Minutes to add',
      confirmLabel: 'Add time',
      min: EXTEND_MINUTES.min,
      max: EXTEND_MINUTES.max,
      value: 15,
      signal: this.scope.signal,
    });
    if (minutes === null || this.scope.disposed) {
      if (!this.scope.disposed) button.focus();
      return;
    }
    button.disabled = true;
    try {
      const updated = await manageApi.extendInvite(invite.id, minutes, this.scope.signal);
      if (this.scope.disposed) return;
      this.replaceInvite(updated);
      this.tbody.querySelector<HTMLElement>(`[data-invite-id="${CSS.escape(updated.id)}"] [data-action="extend"]`)?.focus();
      this.toaster.show(`Added ${plural(minutes, 'minute')} for ${invite.candidateName}.`);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      button.disabled = false;
      this.toaster.show(errorText(err, 'The time could not be added.'), 'error');
      void this.loadInvites({ quiet: true });
    }
  }
}
