// The invite list on `/manage/invites`: filters by status and exercise (kept in the URL query), and per invite:
// watch or review the attempt and, for the invite's creator or an admin, reissue the link, add time, revoke. Links
// are never listed: a reissue shows the new one once. It refreshes itself while the page is visible.

import { isAbort, type ExerciseSummary } from '../api.js';
import { h, type Scope } from '../dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { formatMinutes, plural } from '../ui/format.js';
import { spinner } from '../ui/layout.js';
import type { Toaster } from '../ui/toast.js';
import { EXTEND_MINUTES, INVITE_STATUSES, attemptHref, manageApi, type CreatedInvite, type Invite, type InviteStatus } from './api.js';
import { inviteStatusBadge, inviteStatusLabel, minutesDialog, timeCell } from './widgets.js';
import { shortVersion } from '../../../contract/invites.js';

/**
 * The exercise version the invite pinned (its candidate gets it, whatever the exercise becomes), and how it stands
 * against the current one.
 */
function versionLine(invite: Invite): HTMLElement | string {
  if (!invite.exerciseVersion) return '';
  const note = { current: '', older: ' · older than the current one', missing: ' · its stored copy is gone: the invite cannot start' }[invite.exerciseVersionStatus];
  return h(
    'span',
    { class: `cell-sub ${invite.exerciseVersionStatus === 'missing' ? 'message-error' : 'muted'}`, 'data-testid': 'invite-version', title: invite.exerciseVersion },
    `version ${shortVersion(invite.exerciseVersion)}${note}`,
  );
}

/** How often the list is fetched again while the page is visible (a candidate may start meanwhile). */
const REFRESH_MS = 15_000;

export class InviteList {
  /** The "Invites" section: the toolbar with the filters, and the table. */
  readonly element: HTMLElement;
  private invites: Invite[] = [];
  private listLoading = false;

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
    private readonly scope: Scope,
    private readonly toaster: Toaster,
    /** A reissued link arrived: shown once, with a copy button, by the page. */
    private readonly onReissued: (invite: CreatedInvite) => void,
  ) {
    this.element = h(
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
    );

    const query = new URLSearchParams(location.search);
    const status = query.get('status') ?? '';
    if ((INVITE_STATUSES as readonly string[]).includes(status)) this.statusFilter.value = status;

    scope.listen(this.statusFilter, 'change', () => this.onFilterChange());
    scope.listen(this.exerciseFilter, 'change', () => this.onFilterChange());
    scope.listen(this.refreshButton, 'click', () => void this.loadInvites());
    scope.interval(() => {
      if (document.visibilityState !== 'visible' || this.listLoading) return;
      void this.loadInvites({ quiet: true });
    }, REFRESH_MS);
  }

  /** The exercise filter offers these (and keeps the one in the URL query). */
  setExercises(exercises: ExerciseSummary[]): void {
    const wanted = new URLSearchParams(location.search).get('exercise') ?? this.exerciseFilter.value;
    this.exerciseFilter.replaceChildren(
      h('option', { value: '' }, 'All exercises'),
      ...exercises.map((e) => h('option', { value: e.id }, e.title)),
    );
    if (exercises.some((e) => e.id === wanted)) this.exerciseFilter.value = wanted;
  }

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

  /** Fetches the invites again; `quiet` keeps the status line and errors out of sight (background refreshes). */
  async loadInvites(options: { quiet?: boolean } = {}): Promise<void> {
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
    const live = invite.status === 'pending' || invite.status === 'running';
    // Only the invite's creator and admins may change it (the server says so too, with a 403).
    const mine = invite.canManage;

    const button = (label: string, action: string, handler: (button: HTMLButtonElement) => void): HTMLButtonElement => {
      const el = h(
        'button',
        { type: 'button', class: 'button button-small', 'data-action': action, 'data-testid': action, 'aria-describedby': nameId },
        label,
      );
      el.addEventListener('click', () => handler(el), { signal: this.scope.signal });
      return el;
    };

    if (mine && (live || invite.status === 'failed')) {
      actions.append(button('Reissue link', 'reissue', (el) => void this.reissue(invite, el)));
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
    if (live && mine) {
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
        versionLine(invite),
        transferLine(invite),
      ),
      h('td', {}, inviteStatusBadge(invite.status)),
      h('td', {}, invite.createdBy.name),
      h('td', {}, timeCell(invite.createdAt)),
      h('td', {}, invite.status === 'pending' || invite.status === 'expired' ? timeCell(invite.expiresAt) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'cell-actions' }, actions),
    );
  }

  private replaceInvite(updated: Invite): void {
    this.invites = this.invites.map((i) => (i.id === updated.id ? updated : i));
    this.renderRows();
  }

  private focusRow(id: string): void {
    this.tbody.querySelector<HTMLElement>(`[data-invite-id="${CSS.escape(id)}"] .candidate-name`)?.focus();
  }

  private async reissue(invite: Invite, button: HTMLButtonElement): Promise<void> {
    const started = invite.attemptId !== null && invite.status === 'running';
    await this.confirmed(
      button,
      {
        title: `Reissue the link for ${invite.candidateName}?`,
        body: started
          ? 'The old link stops working at once, and so does the browser the candidate started in: its terminal closes. ' +
            'Whoever opens the new link carries on in the same attempt, with the same clock and files. The review shows the change.'
          : 'The old link stops working at once. The new one is shown once, for you to send.',
        confirmLabel: 'Reissue link',
        cancelLabel: 'Keep the old link',
      },
      async () => {
        const reissued = await manageApi.reissueInvite(invite.id, this.scope.signal);
        if (this.scope.disposed) return;
        const { link: _link, ...view } = reissued;
        this.replaceInvite(view);
        this.onReissued(reissued);
        this.toaster.show(`A new link for ${invite.candidateName} is ready to copy.`);
      },
      'The link could not be reissued.',
    );
  }

  private async revoke(invite: Invite, button: HTMLButtonElement): Promise<void> {
    const running = invite.status === 'running';
    await this.confirmed(
      button,
      {
        title: `Revoke the invite for ${invite.candidateName}?`,
        body: running
          ? 'The link stops working at once and the running attempt ends now. What the candidate did so far is graded and kept.'
          : 'The link stops working at once. This cannot be undone; create a new invite if they should try again.',
        confirmLabel: running ? 'Revoke and end the attempt' : 'Revoke',
        cancelLabel: 'Keep it',
      },
      async () => {
        const updated = await manageApi.revokeInvite(invite.id, this.scope.signal);
        if (this.scope.disposed) return;
        this.replaceInvite(updated);
        this.focusRow(updated.id);
        this.toaster.show(`The invite for ${invite.candidateName} is revoked.`);
      },
      'The invite could not be revoked.',
    );
  }

  /**
   * Asks first; on yes disables the button and runs `action`. A refusal re-enables it, says why and reloads the
   * list (the invite may have changed meanwhile); a no gives the focus back to the button.
   */
  private async confirmed(
    button: HTMLButtonElement,
    dialog: { title: string; body: string; confirmLabel: string; cancelLabel: string },
    action: () => Promise<void>,
    failText: string,
  ): Promise<void> {
    const ok = await confirmDialog({ ...dialog, signal: this.scope.signal });
    if (!ok || this.scope.disposed) {
      if (!this.scope.disposed) button.focus();
      return;
    }
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      button.disabled = false;
      this.toaster.show(errorText(err, failText), 'error');
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

/** Whether the candidate may upload or download files (only said when the invite turned either on). */
function transferLine(invite: Invite): HTMLElement | null {
  const on = [invite.files?.upload ? 'uploads' : null, invite.files?.download ? 'downloads' : null].filter(Boolean);
  if (on.length === 0) return null;
  return h('span', { class: 'cell-sub muted', 'data-testid': 'invite-files-cell' }, `Files: ${on.join(' and ')} allowed`);
}
