// The new-invite form on `/manage/invites`: exercise, candidate, time limit, expiry, note and feedback, checked
// field by field before sending; the link to send comes back with a copy button, this once (a reissued link too).

import { api, isAbort, type ExerciseSummary } from '../api.js';
import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import { formatMinutes } from '../ui/format.js';
import { spinner } from '../ui/layout.js';
import { setFieldError } from './account-form.js';
import { manageApi, type CreatedInvite, type CreateInviteBody, type Invite } from './api.js';
import { checkInvite, INVITE_FIELDS, type InviteField } from './invite-check.js';
import { INVITE_LIMITS } from '../../../contract/invites.js';
import { copyMessage, copyText, timeCell } from './widgets.js';

interface Field<E extends HTMLElement> {
  input: E;
  error: HTMLElement;
  wrap: HTMLElement;
}

export interface InviteFormOptions {
  scope: Scope;
  /** The exercises arrived (the list's filter offers them too). */
  onExercises(exercises: ExerciseSummary[]): void;
  /** An invite was created. */
  onCreated(invite: Invite): void;
}

export class InviteForm {
  /** The "New invite" section: the form, and the link of the invite just created. */
  readonly element: HTMLElement;
  private readonly scope: Scope;
  private exercises: ExerciseSummary[] = [];
  private timeLimitEdited = false;

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
  private readonly allowUpload = h('input', { type: 'checkbox', id: 'invite-upload', 'data-testid': 'invite-upload' });
  private readonly allowDownload = h('input', { type: 'checkbox', id: 'invite-download', 'data-testid': 'invite-download' });
  private readonly createButton = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'create-invite' }, 'Create invite');
  private readonly created = h('div', { class: 'invite-created-area', 'data-testid': 'invite-created-area' });

  constructor(private readonly options: InviteFormOptions) {
    const scope = options.scope;
    this.scope = scope;
    const form = h(
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
        h(
          'div',
          { class: 'form-check' },
          this.allowUpload,
          h(
            'label',
            { for: 'invite-upload' },
            'Allow uploading files into the workspace',
            h('span', { class: 'field-hint' }, 'Up to 2 MiB a file; each upload is on the review. Off unless the exercise forbids it anyway.'),
          ),
        ),
        h(
          'div',
          { class: 'form-check' },
          this.allowDownload,
          h(
            'label',
            { for: 'invite-download' },
            'Allow downloading files from the workspace',
            h('span', { class: 'field-hint' }, 'Single files or the whole workspace as a .tar.gz; each download is on the review.'),
          ),
        ),
        this.createButton,
      ),
    );

    this.element = h(
      'section',
      { class: 'invite-new staff-panel staff-section', 'aria-labelledby': 'new-invite-title' },
      h('h2', { id: 'new-invite-title', class: 'section-title' }, 'New invite'),
      form,
      this.created,
    );

    scope.listen(form, 'submit', (event) => {
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

  /** Fills the exercise menu (with a way to try again when that fails). */
  async loadExercises(): Promise<void> {
    const select = this.exercise.input;
    select.replaceChildren(h('option', { value: '' }, 'Loading exercises…'));
    select.disabled = true;
    try {
      this.exercises = (await api.listStaffExercises(this.scope.signal)).filter((e) => e.modes.includes('interview'));
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
    this.options.onExercises(this.exercises);
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

  /** Checks the form; shows a message at each wrong field. Returns the body to send, or null. */
  private validate(focus: boolean): CreateInviteBody | null {
    const { body, problems: byField } = checkInvite({
      exercise: this.selectedExercise(),
      candidateName: this.candidateName.input.value,
      candidateEmail: this.candidateEmail.input.value,
      timeLimitMinutes: this.timeLimit.input.value,
      expiresInDays: this.expires.input.value,
      note: this.note.input.value,
      showFeedback: this.showFeedback.checked,
      upload: this.allowUpload.checked,
      download: this.allowDownload.checked,
    });
    const fields: Record<InviteField, Field<HTMLElement>> = {
      exercise: this.exercise,
      candidateName: this.candidateName,
      candidateEmail: this.candidateEmail,
      timeLimit: this.timeLimit,
      expires: this.expires,
      note: this.note,
    };
    const problems: Field<HTMLElement>[] = [];
    for (const name of INVITE_FIELDS) {
      setFieldError(fields[name], byField[name] ?? null);
      if (byField[name]) problems.push(fields[name]);
    }

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
      this.options.onCreated(invite);
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

  /**
   * Shows a link to send, with a copy button: the invite just created, or a reissued one. The server shows a link
   * only in that one answer, so this box is the only place it is seen.
   */
  showCreated(invite: CreatedInvite, reissued = false): void {
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
    const title = h(
      'h3',
      { class: 'copy-box-title', tabindex: -1 },
      reissued ? `New link for ${invite.candidateName}` : `Invite created for ${invite.candidateName}`,
    );
    this.created.replaceChildren(
      h(
        'div',
        { class: 'copy-box', 'data-testid': 'invite-created', 'data-invite-id': invite.id, 'data-reissued': String(reissued) },
        title,
        reissued
          ? h(
              'p',
              { class: 'muted' },
              `Send this link to ${invite.candidateEmail}. The old link, and the browser that used it, no longer open the attempt. `,
              'It is shown only now: copy it before you leave this page.',
            )
          : h(
              'p',
              { class: 'muted' },
              `Send this link to ${invite.candidateEmail}. It expires `,
              timeCell(invite.expiresAt),
              '. It is shown only now: copy it before you leave this page. The first browser that starts with it ',
              'keeps the attempt, so send it to the candidate only.',
            ),
        h('div', { class: 'copy-row' }, linkField, copy, dismiss),
        copyStatus,
      ),
    );
    copy.focus();
  }
}
