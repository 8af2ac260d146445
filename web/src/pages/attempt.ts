// `/attempts/:id`: the workspace. Instructions on the left, the sandbox's shell on the right, a header with
// the countdown, the connection state and Submit. Under the instructions: checks on demand and hints (when the
// attempt allows them). An interview attempt that ends goes to its done page; a practice attempt shows its end
// in place. Keyboard: skip links at the top, F6 / Shift+F6 out of the terminal, a "Keyboard" help.

import '../candidate/candidate.css';
import { api, ApiError, isAbort, isAttemptActive, terminalUrl, type AttemptView, type Exercise } from '../api.js';
import { rememberEndedView } from '../candidate/last-view.js';
import { h, type Scope } from '../dom.js';
import { forgetAttempt, rememberAttempt } from '../recent-attempt.js';
import type { PageContext } from '../router.js';
import type { ConnectionStatus } from '../terminal/connection.js';
import { ConnectionPill, TerminalSession } from '../terminal/session-controller.js';
import { Countdown } from '../ui/countdown.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { cssToken, formatMinutes } from '../ui/format.js';
import { setDocumentTitle, spinner } from '../ui/layout.js';
import { renderMarkdown } from '../ui/markdown.js';
import { ServerClock } from '../ui/server-clock.js';
import { Toaster } from '../ui/toast.js';
import { KeyboardHelp } from '../workspace/keyboard-help.js';
import { ProgressPanel } from '../workspace/progress-panel.js';
import { TimeWarnings } from '../workspace/time-warnings.js';
import { practiceApi } from '../practice/api.js';

/** A lost connection that has not come back after this long gets a banner (the status pill shows it at once). */
const LOST_BANNER_DELAY_MS = 1_500;
/** How often to ask the server whether an attempt whose deadline passed here has ended there. */
const OVERDUE_POLL_MS = 5_000;

export default async function attemptPage({ root, scope, params, navigate }: PageContext): Promise<void> {
  const attemptId = params['id'] ?? '';
  const ws = new Workspace(root, scope, attemptId, navigate);
  await ws.start();
}

class Workspace {
  private readonly clock = new ServerClock();
  private readonly toaster = new Toaster();
  private attempt: AttemptView | null = null;
  private session: TerminalSession | null = null;
  private ended = false;
  private submitting = false;
  private lastOverduePoll = 0;
  private cancelLostBanner: (() => void) | null = null;
  private readonly warnings: TimeWarnings;
  private readonly keyboardHelp: KeyboardHelp;

  private readonly title = h('h1', { class: 'workspace-title', 'data-testid': 'exercise-title' }, 'Loading…');
  private readonly pill = new ConnectionPill({ connected: 'Connected', replaced: 'Open in another tab' });
  private readonly countdown = new Countdown();
  private readonly hint = h(
    'p',
    { class: 'terminal-hint', id: 'terminal-hint' },
    'Tab completes in the shell. Press ',
    h('kbd', {}, 'F6'),
    ' to move focus out of the terminal to Submit, and again to come back; ',
    h('kbd', {}, 'Shift'),
    '+',
    h('kbd', {}, 'F6'),
    ' goes to the instructions.',
  );
  private readonly submit = h(
    'button',
    { type: 'button', class: 'button button-primary', 'data-testid': 'submit-button', disabled: true },
    'Submit',
  );
  /** Practice only: back to the exercise's initial state in a fresh sandbox (asks first). */
  private readonly resetButton = h(
    'button',
    { type: 'button', class: 'button', 'data-testid': 'reset-button', hidden: true },
    'Reset sandbox',
  );
  private resetting = false;
  private readonly announcer = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', 'data-testid': 'workspace-announcer' });
  private readonly instructions = h('div', {
    class: 'instructions markdown',
    tabindex: 0,
    role: 'region',
    'aria-label': 'Instructions',
    'data-testid': 'instructions',
  });
  private readonly banners = h('div', { class: 'banner-area' });
  private readonly termHost = h('div', { class: 'terminal-host', 'data-testid': 'terminal' });
  private brand: HTMLElement = h('a', { href: '/', class: 'brand' }, 'opslab');
  private readonly progress: ProgressPanel;

  constructor(
    private readonly root: HTMLElement,
    private readonly scope: Scope,
    private readonly attemptId: string,
    private readonly navigate: PageContext['navigate'],
  ) {
    setDocumentTitle('Workspace');
    this.warnings = new TimeWarnings(
      attemptId,
      scope,
      (text) => this.announce(text),
      () => this.focusTerminalOr(this.submit),
    );
    this.keyboardHelp = new KeyboardHelp(scope);
    this.progress = new ProgressPanel({
      attemptId,
      scope,
      onAttemptNotRunning: async () => {
        await this.refreshAttempt();
      },
    });
    const termPane = h(
      'section',
      { class: 'terminal-pane', 'aria-label': 'Terminal' },
      this.banners,
      h('div', { class: 'terminal-frame' }, this.termHost),
      this.hint,
    );
    root.append(
      h(
        'div',
        { class: 'workspace' },
        this.skipLinks(),
        h(
          'header',
          { class: 'workspace-header' },
          this.brand,
          this.title,
          h(
            'div',
            { class: 'workspace-status' },
            this.pill.element,
            this.countdown.element,
            this.resetButton,
            this.submit,
            this.keyboardHelp.element,
          ),
        ),
        h('div', { class: 'workspace-body' }, h('aside', { class: 'instructions-pane' }, this.instructions, this.progress.element), termPane),
        this.announcer,
      ),
      this.warnings.element,
      this.toaster.element,
    );
    this.instructions.append(h('p', { class: 'muted' }, spinner(), 'Loading instructions…'));

    scope.add(() => this.dispose());
    scope.listen(this.submit, 'click', () => void this.onSubmit());
    scope.listen(this.resetButton, 'click', () => void this.onReset());
    // F6 from anywhere on the page goes back into the terminal (inside it, the terminal handles F6 itself).
    scope.listen(document, 'keydown', (event) => {
      if (event.key !== 'F6' || event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
      if (!this.session || this.ended) return;
      event.preventDefault();
      this.session.focus();
    });
    scope.interval(() => this.tick(), 500);
  }

  async start(): Promise<void> {
    let attempt: AttemptView;
    try {
      attempt = await this.fetchAttempt();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.showFatal(err);
      return;
    }
    if (this.scope.disposed) return;
    void this.loadExercise(attempt.exerciseId);

    if (isAttemptActive(attempt)) {
      rememberAttempt(attempt.id);
      this.openTerminal();
      this.applyAttempt(attempt);
      this.session?.connect();
      this.session?.focus();
    } else {
      this.applyAttempt(attempt);
    }
  }

  // ---- attempt state -------------------------------------------------------------------------------------

  private async fetchAttempt(): Promise<AttemptView> {
    const sentAt = Date.now();
    const attempt = await api.getAttempt(this.attemptId, this.scope.signal);
    this.clock.sync(attempt.serverTime, sentAt);
    return attempt;
  }

  private applyAttempt(attempt: AttemptView): void {
    this.attempt = attempt;
    const workspace = this.root.querySelector('.workspace');
    workspace?.setAttribute('data-attempt-state', attempt.state);
    workspace?.setAttribute('data-mode', attempt.mode ?? 'practice');
    if (attempt.mode === 'interview') this.useCandidateBrand();
    // An older server does not send these: everything is allowed there.
    this.progress.setAllowed({ checks: attempt.checksAllowed !== false, hints: attempt.hintsAllowed !== false });
    this.tick();
    this.resetButton.hidden = attempt.mode !== 'practice' || !isAttemptActive(attempt);
    if (!isAttemptActive(attempt)) this.enterEnded(attempt);
    else if (!this.submitting) this.submit.disabled = false;
  }

  /** Practice: a fresh sandbox in the exercise's initial state, under the same attempt and clock. */
  private async onReset(): Promise<void> {
    if (this.ended || this.resetting) return;
    const ok = await confirmDialog({
      title: 'Reset the sandbox?',
      body:
        'You get a fresh sandbox in the exercise\'s initial state. Every file you changed and every process you ' +
        'started is lost. The clock keeps running, and your hints stay revealed.',
      confirmLabel: 'Reset',
      signal: this.scope.signal,
    });
    if (!ok || this.ended) return;
    this.resetting = true;
    this.resetButton.disabled = true;
    this.resetButton.textContent = 'Resetting…';
    try {
      await practiceApi.reset(this.attemptId, this.scope.signal);
      this.toaster.show('The sandbox is back in its initial state.', 'info');
      this.announce('The sandbox was reset to its initial state.');
      this.session?.focus();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.toaster.show(errorText(err, 'The sandbox could not be reset.'), 'error');
    } finally {
      this.resetting = false;
      this.resetButton.disabled = false;
      this.resetButton.textContent = 'Reset sandbox';
    }
  }

  private tick(): void {
    const attempt = this.attempt;
    if (!attempt) return;
    if (this.ended) return;
    const remaining = this.countdown.show(attempt.deadline, this.clock);
    if (remaining === null) return;
    this.warnings.update(remaining);
    if (remaining <= 0 && Date.now() - this.lastOverduePoll >= OVERDUE_POLL_MS) {
      // The server ends the attempt at its deadline and tells us; ask in case that message got lost.
      this.lastOverduePoll = Date.now();
      void this.refreshAttempt();
    }
  }

  /** Screen readers hear it once; the same text twice in a row is announced again. */
  private announce(text: string): void {
    this.announcer.textContent = '';
    this.scope.timeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  /** An interview candidate has no catalog to go back to: the product name is not a link. */
  private useCandidateBrand(): void {
    if (this.brand.tagName !== 'A') return;
    const plain = h('span', { class: 'brand' }, 'opslab');
    this.brand.replaceWith(plain);
    this.brand = plain;
  }

  private isInterview(): boolean {
    return this.attempt?.mode === 'interview';
  }

  /** Refetches the attempt; resolves false when it is over or no longer ours. */
  private async refreshAttempt(): Promise<boolean> {
    try {
      const attempt = await this.fetchAttempt();
      if (this.scope.disposed) return false;
      this.applyAttempt(attempt);
      return isAttemptActive(attempt);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return false;
      if (err instanceof ApiError && [401, 403, 404, 410].includes(err.status)) {
        this.session?.stop();
        this.showFatal(err);
        return false;
      }
      throw err;
    }
  }

  // ---- exercise ------------------------------------------------------------------------------------------

  private async loadExercise(exerciseId: string): Promise<void> {
    let exercise: Exercise;
    try {
      exercise = await api.getExercise(exerciseId, this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.title.textContent = exerciseId;
      const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
      retry.addEventListener('click', () => void this.loadExercise(exerciseId), { signal: this.scope.signal });
      this.instructions.replaceChildren(
        h('p', { class: 'message message-error' }, errorText(err, 'The instructions could not be loaded.')),
        retry,
      );
      return;
    }
    if (this.scope.disposed) return;
    this.title.textContent = exercise.title;
    setDocumentTitle(exercise.title);
    this.instructions.replaceChildren(
      h(
        'p',
        { class: 'instructions-meta' },
        h('span', { class: `badge badge-${cssToken(exercise.difficulty)}` }, exercise.difficulty),
        h('span', {}, this.timeLimitText(exercise)),
      ),
      h('article', { class: 'markdown-body' }, renderMarkdown(exercise.instructions)),
    );
    this.progress.setExercise(exercise);
  }

  /** An invite sets its own time limit: the attempt's start and deadline say what it is. */
  private timeLimitText(exercise: Exercise): string {
    const attempt = this.attempt;
    if (attempt?.mode === 'interview' && attempt.startedAt && attempt.deadline) {
      const ms = Date.parse(attempt.deadline) - Date.parse(attempt.startedAt);
      if (Number.isFinite(ms) && ms > 0) return formatMinutes(Math.round(ms / 60_000));
    }
    return formatMinutes(exercise.timeLimitMinutes);
  }

  // ---- terminal ------------------------------------------------------------------------------------------

  private openTerminal(): void {
    this.session = new TerminalSession({
      scope: this.scope,
      host: this.termHost,
      url: terminalUrl(this.attemptId),
      clock: this.clock,
      pill: this.pill,
      toaster: this.toaster,
      hintId: 'terminal-hint',
      onLeave: (direction) => this.leaveTerminal(direction),
      onAttempt: (attempt) => this.applyAttempt(attempt),
      onShellExited: (code) => this.onShellExited(code),
      onStatus: (status) => this.onConnectionStatus(status),
      // A refused upgrade (401/403/404/410) looks like any other failed socket here: the attempt says why.
      shouldReconnect: () => this.refreshAttempt(),
    });
  }

  /** Visible when focused: Tab from the top of the page jumps straight to the terminal, the instructions or Submit. */
  private skipLinks(): HTMLElement {
    const link = (label: string, testid: string, go: () => void): HTMLElement => {
      const a = h('a', { href: '#', 'data-testid': testid }, label);
      // Handled here: the router would otherwise treat the link as a navigation.
      a.addEventListener(
        'click',
        (event) => {
          event.preventDefault();
          go();
        },
        { signal: this.scope.signal },
      );
      return a;
    };
    return h(
      'nav',
      { class: 'skip-links', 'aria-label': 'Skip links' },
      link('Skip to the terminal', 'skip-terminal', () => this.focusTerminalOr(this.instructions)),
      link('Skip to the instructions', 'skip-instructions', () => this.instructions.focus()),
      link('Skip to Submit', 'skip-submit', () => {
        if (!this.submit.hidden && !this.submit.disabled) this.submit.focus();
        else this.focusTerminalOr(this.instructions);
      }),
    );
  }

  private focusTerminalOr(fallback: HTMLElement): void {
    if (this.session && !this.ended) this.session.focus();
    else fallback.focus();
  }

  private leaveTerminal(direction: 'forward' | 'backward'): void {
    if (direction === 'backward') {
      this.instructions.focus();
      return;
    }
    const banner = this.banners.querySelector<HTMLElement>('button');
    if (banner) banner.focus();
    else if (!this.submit.disabled) this.submit.focus();
    else this.instructions.focus();
  }

  private onConnectionStatus(status: ConnectionStatus): void {
    if (this.ended) return;
    if (status.kind === 'reconnecting' || (status.kind === 'connecting' && status.retry)) this.scheduleLostBanner();
    else this.cancelScheduledLostBanner();
    switch (status.kind) {
      case 'connected':
        this.clearBanner('connection');
        this.session?.setInputEnabled(true);
        break;
      case 'ended':
        void this.onEndedByServer(status.reason);
        break;
      case 'replaced':
        this.session?.setInputEnabled(false);
        this.showBanner('connection', 'warn', 'This attempt is open in another tab.', {
          label: 'Use here',
          testid: 'use-here',
          action: () => {
            this.clearBanner('connection');
            this.session?.connect();
            this.session?.focus();
          },
        });
        break;
      case 'closed':
        this.session?.setInputEnabled(false);
        void this.onClosedByServer();
        break;
      case 'connecting':
      case 'reconnecting':
        break;
    }
  }

  /**
   * The connection dropped and reconnects by itself. A blip shows only in the status pill; one that lasts gets
   * a banner saying that nothing is lost, with a way to try at once.
   */
  private scheduleLostBanner(): void {
    if (this.cancelLostBanner || this.banners.querySelector('[data-slot="connection"]')) return;
    this.cancelLostBanner = this.scope.timeout(() => {
      this.cancelLostBanner = null;
      const kind = this.session?.status.kind;
      if (this.ended || (kind !== 'reconnecting' && kind !== 'connecting')) return;
      const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
      const text = offline
        ? 'You seem to be offline. We reconnect as soon as your network is back. Your shell keeps running and the clock does not stop.'
        : 'The connection to your sandbox was lost. Reconnecting automatically… Your shell keeps running and the clock does not stop.';
      this.showBanner('connection', 'warn', text, {
        label: 'Reconnect now',
        testid: 'reconnect-now',
        action: () => {
          this.session?.connect();
        },
      });
      this.banners.querySelector('[data-slot="connection"]')?.setAttribute('data-kind', 'lost');
    }, LOST_BANNER_DELAY_MS);
  }

  private cancelScheduledLostBanner(): void {
    this.cancelLostBanner?.();
    this.cancelLostBanner = null;
  }

  /** A normal close from the server: find out whether the attempt ended before offering to reconnect. */
  private async onClosedByServer(): Promise<void> {
    const active = await this.refreshAttempt().catch(() => true);
    if (!active || this.ended || this.scope.disposed) return;
    this.showBanner('connection', 'warn', 'The connection to your sandbox was closed.', {
      label: 'Reconnect',
      testid: 'reconnect',
      action: () => {
        this.clearBanner('connection');
        this.session?.connect();
        this.session?.focus();
      },
    });
  }

  private async onEndedByServer(reason: string): Promise<void> {
    try {
      await this.refreshAttempt();
    } catch {
      // The server said it ended; believe it even if we cannot fetch the details.
    }
    if (!this.ended && !this.scope.disposed) {
      const endReason = reason === 'expired' || reason === 'submitted' || reason === 'revoked' ? reason : null;
      const state = endReason === 'revoked' ? 'expired' : (endReason ?? 'archived');
      this.enterEnded({ ...(this.attempt as AttemptView), state, endReason });
    }
  }

  private onShellExited(code: number): void {
    if (this.ended) return;
    this.session?.setInputEnabled(false);
    const detail = code >= 0 ? ` (exit status ${code})` : '';
    this.showBanner('shell', 'info', `The shell exited${detail}.`, {
      label: 'Restart shell',
      testid: 'restart-shell',
      action: (button) => void this.restartShell(button),
    });
    // A keyboard user sitting in the terminal needs to reach the button.
    this.banners.querySelector<HTMLButtonElement>('[data-testid="restart-shell"]')?.focus();
  }

  private async restartShell(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    button.textContent = 'Restarting…';
    try {
      const sentAt = Date.now();
      const attempt = await api.restartShell(this.attemptId, this.scope.signal);
      this.clock.sync(attempt.serverTime, sentAt);
      this.applyAttempt(attempt);
      if (this.ended) return;
      this.clearBanner('shell');
      this.session?.connect();
      this.session?.focus();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409) {
        await this.refreshAttempt().catch(() => false);
        return;
      }
      button.disabled = false;
      button.textContent = 'Restart shell';
      this.toaster.show(errorText(err, 'The shell could not be restarted.'), 'error');
    }
  }

  // ---- submit and the end --------------------------------------------------------------------------------

  private async onSubmit(): Promise<void> {
    if (this.ended || this.submit.disabled) return;
    const ok = await confirmDialog({
      title: 'Submit your work?',
      body: this.isInterview()
        ? 'Your work is sent to the hiring team as it is now. After submitting you cannot change anything.'
        : 'Your sandbox is checked as it is now. After submitting you cannot change anything.',
      confirmLabel: 'Submit',
      cancelLabel: 'Keep working',
      signal: this.scope.signal,
    });
    if (!ok || this.ended || this.scope.disposed) return;
    this.submitting = true;
    this.submit.disabled = true;
    this.submit.textContent = 'Submitting…';
    try {
      const sentAt = Date.now();
      const attempt = await api.submitAttempt(this.attemptId, this.scope.signal);
      this.clock.sync(attempt.serverTime, sentAt);
      this.applyAttempt(attempt);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      if (err instanceof ApiError && err.status === 409) {
        await this.refreshAttempt().catch(() => false);
        if (this.ended) return;
      }
      this.submit.disabled = false;
      this.submit.textContent = 'Submit';
      this.toaster.show(errorText(err, 'Your work could not be submitted.'), 'error');
    } finally {
      this.submitting = false;
    }
  }

  private enterEnded(attempt: AttemptView): void {
    if (this.ended) return;
    this.ended = true;
    this.pill.end();
    forgetAttempt(this.attemptId);
    this.cancelScheduledLostBanner();
    this.warnings.stop();
    this.session?.stop({ kind: 'ended', reason: attempt.endReason ?? attempt.state });
    if (attempt.mode === 'interview') {
      // The candidate's journey ends on its own page, which says how it ended and what happens next.
      rememberEndedView(attempt);
      this.navigate(`/attempts/${encodeURIComponent(this.attemptId)}/done`, { replace: true });
      return;
    }
    this.session?.setInputEnabled(false);
    this.session?.view.term.blur();
    this.submit.hidden = true;
    this.countdown.element.hidden = true;
    this.hint.hidden = true;
    this.countdown.end();
    this.clearBanner('shell');
    this.clearBanner('connection');
    if (!this.session) this.termHost.classList.add('terminal-empty');
    this.progress.setEnded();

    const { text, level } = endedMessage(attempt);
    const banner = h(
      'div',
      {
        class: `banner banner-${level} banner-ended`,
        role: 'status',
        tabindex: -1,
        'data-testid': 'ended-banner',
        'data-state': attempt.state,
        'data-end-reason': attempt.endReason ?? '',
      },
      h('p', { class: 'banner-text' }, text),
      attempt.state !== 'failed'
        ? h(
            'a',
            { href: `/practice/${encodeURIComponent(this.attemptId)}`, class: 'button button-primary', 'data-testid': 'practice-results-link' },
            'Results, replay and solution',
          )
        : null,
      h('a', { href: '/', class: 'button' }, 'Back to exercises'),
    );
    this.resetButton.hidden = true;
    this.banners.replaceChildren(banner);
    banner.focus({ preventScroll: true });
  }

  private showFatal(err: unknown): void {
    const status = err instanceof ApiError ? err.status : 0;
    if (this.isInterview() && [401, 403, 404, 410].includes(status)) {
      // A withdrawn invite's token stops working at once: the done page says so.
      this.enterEnded({ ...(this.attempt as AttemptView), state: 'expired', endReason: this.attempt?.endReason ?? 'revoked' });
      return;
    }
    this.ended = true;
    this.warnings.stop();
    this.cancelScheduledLostBanner();
    forgetAttempt(this.attemptId);
    this.session?.dispose();
    this.session = null;
    const heading =
      status === 404
        ? 'This attempt does not exist.'
        : status === 410
          ? 'This attempt is no longer available.'
          : status === 401 || status === 403
          ? 'This attempt belongs to another browser session.'
          : 'This attempt could not be opened.';
    const detail =
      status === 401 || status === 403
        ? 'Open it from the browser that started it, or use the link you were given.'
        : errorText(err, 'Please try again.');
    const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
    retry.addEventListener('click', () => location.reload(), { signal: this.scope.signal });
    this.root.replaceChildren(
      h('header', { class: 'site-header' }, h('a', { href: '/', class: 'brand' }, 'opslab')),
      h(
        'main',
        { class: 'page page-narrow', 'data-testid': 'attempt-error' },
        h('h1', { tabindex: -1 }, heading),
        h('p', { class: 'message message-error' }, detail),
        h('p', { class: 'actions' }, status === 0 || status >= 500 ? retry : null, h('a', { href: '/', class: 'button' }, 'Back to exercises')),
      ),
    );
    this.root.querySelector<HTMLElement>('h1')?.focus();
  }

  // ---- banners -------------------------------------------------------------------------------------------

  private showBanner(
    slot: 'shell' | 'connection',
    level: 'info' | 'warn' | 'error',
    text: string,
    action: { label: string; testid: string; action: (button: HTMLButtonElement) => void },
  ): void {
    this.clearBanner(slot);
    const button = h('button', { type: 'button', class: 'button button-primary', 'data-testid': action.testid }, action.label);
    button.addEventListener('click', () => action.action(button), { signal: this.scope.signal });
    this.banners.append(
      h(
        'div',
        { class: `banner banner-${level}`, role: 'alert', 'data-slot': slot, 'data-testid': `${slot}-banner` },
        h('p', { class: 'banner-text' }, text),
        button,
      ),
    );
  }

  private clearBanner(slot: 'shell' | 'connection'): void {
    this.banners.querySelector(`[data-slot="${slot}"]`)?.remove();
  }

  private dispose(): void {
    this.cancelScheduledLostBanner();
    this.session?.dispose();
    this.session = null;
    this.toaster.dispose();
  }
}

function endedMessage(attempt: AttemptView): { text: string; level: 'info' | 'warn' | 'error' } {
  if (attempt.endReason === 'preempted') {
    return { text: 'This practice sandbox was stopped to make room for an interview. Start the exercise again later.', level: 'warn' };
  }
  switch (attempt.state) {
    case 'expired':
      return { text: 'Time is up — your work was submitted automatically.', level: 'info' };
    case 'submitted':
      return { text: 'Your work was submitted. You can close this page.', level: 'info' };
    case 'archived':
      return attempt.endReason === 'expired'
        ? { text: 'Time is up — your work was submitted automatically. This sandbox has since been removed.', level: 'info' }
        : { text: 'Your work was submitted. This sandbox has since been removed.', level: 'info' };
    case 'failed':
      return { text: 'Your sandbox could not be started. Go back to the exercises and try again.', level: 'error' };
    default:
      return { text: 'This attempt has ended.', level: 'info' };
  }
}
