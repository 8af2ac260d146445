// `/attempts/:id`: the workspace. Instructions on the left, the sandbox's shell on the right (below the file editor
// when the exercise has it), a header with the countdown, the connection state and Submit. Under the instructions: checks on demand and hints (when the
// attempt allows them). An interview attempt that ends goes to its done page; a practice attempt shows its end
// in place. Keyboard: skip links at the top, F6 / Shift+F6 out of the terminal, a "Keyboard" help.

import '../candidate/candidate.css';
import { api, ApiError, isAbort, isAttemptActive, type AttemptView } from '../api.js';
import { rememberEndedView } from '../candidate/last-view.js';
import { h, type Scope } from '../dom.js';
import { EditorPane } from '../editor/editor-pane.js';
import { startSignalReporter } from '../editor/signals-reporter.js';
import { forgetAttempt, rememberAttempt } from '../recent-attempt.js';
import type { PageContext } from '../router.js';
import { ConnectionPill, isAccessGone, refetchAttempt } from '../terminal/session-controller.js';
import { Announcer } from '../ui/announcer.js';
import { Countdown } from '../ui/countdown.js';
import { confirmDialog } from '../ui/dialog.js';
import { errorText } from '../ui/errors.js';
import { setDocumentTitle } from '../ui/layout.js';
import { ServerClock } from '../ui/server-clock.js';
import { Toaster } from '../ui/toast.js';
import { attemptErrorPage, endedBanner } from '../workspace/ended.js';
import { Instructions } from '../workspace/instructions.js';
import { KeyboardHelp } from '../workspace/keyboard-help.js';
import { ProgressPanel } from '../workspace/progress-panel.js';
import { ResetSandbox } from '../workspace/reset-sandbox.js';
import { skipLinks } from '../workspace/skip-links.js';
import { TerminalPane } from '../workspace/terminal-pane.js';
import { TimeWarnings } from '../workspace/time-warnings.js';

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
  private ended = false;
  private submitting = false;
  private lastOverduePoll = 0;
  private readonly warnings: TimeWarnings;
  private readonly keyboardHelp: KeyboardHelp;

  private readonly pill = new ConnectionPill({ connected: 'Connected', replaced: 'Open in another tab' });
  private readonly countdown = new Countdown();
  private readonly submit = h(
    'button',
    { type: 'button', class: 'button button-primary', 'data-testid': 'submit-button', disabled: true },
    'Submit',
  );
  /** Practice only: back to the exercise's initial state in a fresh sandbox (asks first). */
  private readonly resetSandbox: ResetSandbox;
  private readonly announcer: Announcer;
  private readonly instructions: Instructions;
  private readonly terminal: TerminalPane;
  /** The file editor above the terminal (when the exercise has it, while the attempt runs). */
  private readonly editor: EditorPane;
  /** Pastes and focus changes, reported while the attempt runs (the page says so in Keyboard). */
  private readonly signals: { stop(): void };
  private readonly workPane: HTMLElement;
  private brand: HTMLElement = h('a', { href: '/', class: 'brand' }, 'opslab');
  private readonly progress: ProgressPanel;

  constructor(
    private readonly root: HTMLElement,
    private readonly scope: Scope,
    private readonly attemptId: string,
    private readonly navigate: PageContext['navigate'],
  ) {
    setDocumentTitle('Workspace');
    this.announcer = new Announcer(scope, 'workspace-announcer');
    this.warnings = new TimeWarnings(
      attemptId,
      scope,
      (text) => this.announcer.say(text),
      () => this.focusTerminalOr(this.submit),
    );
    this.keyboardHelp = new KeyboardHelp(scope);
    this.terminal = new TerminalPane({
      attemptId,
      scope,
      clock: this.clock,
      pill: this.pill,
      toaster: this.toaster,
      isEnded: () => this.ended,
      applyAttempt: (attempt) => this.applyAttempt(attempt),
      refreshAttempt: () => this.refreshAttempt(),
      onEndedByServer: (reason) => void this.onEndedByServer(reason),
      onLeave: (direction) => this.leaveTerminal(direction),
    });
    this.resetSandbox = new ResetSandbox({
      attemptId,
      scope,
      toaster: this.toaster,
      canReset: () => !this.ended,
      onReset: () => {
        this.announcer.say('The sandbox was reset to its initial state.');
        this.terminal.focus();
      },
    });
    this.progress = new ProgressPanel({
      attemptId,
      scope,
      onAttemptNotRunning: async () => {
        await this.refreshAttempt();
      },
    });
    this.editor = new EditorPane({
      attemptId,
      scope,
      announce: (text) => this.announcer.say(text),
      onLeave: (direction) => (direction === 'forward' ? this.focusTerminalOr(this.instructions.element) : this.instructions.focus()),
      onToggle: () => this.placeEditor(),
    });
    this.signals = startSignalReporter({ attemptId, scope });
    this.workPane = h('div', { class: 'work-pane', 'data-editor': 'none' }, this.editor.element, this.terminal.element);
    this.instructions = new Instructions(scope, () => this.attempt, (exercise) => {
      this.progress.setExercise(exercise);
      void this.editor.enable(exercise.editor === true && !this.ended && !!this.attempt && isAttemptActive(this.attempt));
    });
    root.append(
      h(
        'div',
        { class: 'workspace' },
        skipLinks(scope, [
          { label: 'Skip to the terminal', testid: 'skip-terminal', go: () => this.focusTerminalOr(this.instructions.element) },
          { label: 'Skip to the instructions', testid: 'skip-instructions', go: () => this.instructions.focus() },
          {
            label: 'Skip to Submit',
            testid: 'skip-submit',
            go: () => {
              if (!this.submit.hidden && !this.submit.disabled) this.submit.focus();
              else this.focusTerminalOr(this.instructions.element);
            },
          },
        ]),
        h(
          'header',
          { class: 'workspace-header' },
          this.brand,
          this.instructions.title,
          h(
            'div',
            { class: 'workspace-status' },
            this.pill.element,
            this.countdown.element,
            this.resetSandbox.element,
            this.submit,
            this.keyboardHelp.element,
          ),
        ),
        h('div', { class: 'workspace-body' }, h('aside', { class: 'instructions-pane' }, this.instructions.element, this.progress.element), this.workPane),
        this.announcer.element,
      ),
      this.warnings.element,
      this.toaster.element,
    );

    scope.add(() => this.dispose());
    scope.listen(this.submit, 'click', () => void this.onSubmit());
    // F6 from anywhere on the page goes back into the terminal (inside it, the terminal handles F6 itself); from the
    // instructions it goes to the editor first, when there is one: instructions → editor → terminal.
    scope.listen(document, 'keydown', (event) => {
      if (event.key !== 'F6' || event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
      if (!this.terminal.session || this.ended) return;
      event.preventDefault();
      const inInstructions = event.target instanceof Node && this.instructions.element.parentElement?.contains(event.target);
      if (inInstructions && !event.shiftKey && this.editor.focus()) return;
      this.terminal.focus();
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
    void this.instructions.load(attempt);

    if (isAttemptActive(attempt)) {
      rememberAttempt(attempt.id);
      const session = this.terminal.open();
      this.applyAttempt(attempt);
      session.connect();
      this.terminal.focus();
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
    this.progress.setGrading(attempt.grading);
    this.tick();
    this.resetSandbox.hidden = attempt.mode !== 'practice' || !isAttemptActive(attempt);
    if (!isAttemptActive(attempt)) this.enterEnded(attempt);
    else if (!this.submitting) this.submit.disabled = false;
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
  private refreshAttempt(): Promise<boolean> {
    return refetchAttempt(
      this.scope,
      () => this.fetchAttempt(),
      (attempt) => {
        this.applyAttempt(attempt);
        return attempt;
      },
      (err) => {
        this.terminal.stop();
        this.showFatal(err);
      },
    );
  }

  // ---- terminal ------------------------------------------------------------------------------------------

  private focusTerminalOr(fallback: HTMLElement): void {
    if (!this.terminal.focus()) fallback.focus();
  }

  /** The right column gives the editor its share, or only its bar when folded, or nothing. */
  private placeEditor(): void {
    this.workPane.dataset['editor'] = this.editor.visible ? (this.editor.element.dataset['state'] ?? 'open') : 'none';
  }

  private leaveTerminal(direction: 'forward' | 'backward'): void {
    if (direction === 'backward') {
      this.instructions.focus();
      return;
    }
    const banner = this.terminal.banners.firstButton();
    if (banner) banner.focus();
    else if (!this.submit.disabled) this.submit.focus();
    else this.instructions.focus();
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
    this.terminal.banners.cancelLostBanner();
    this.warnings.stop();
    this.editor.end();
    this.signals.stop();
    this.terminal.session?.stop({ kind: 'ended', reason: attempt.endReason ?? attempt.state });
    if (attempt.mode === 'interview') {
      // The candidate's journey ends on its own page, which says how it ended and what happens next.
      rememberEndedView(attempt);
      this.navigate(`/attempts/${encodeURIComponent(this.attemptId)}/done`, { replace: true });
      return;
    }
    this.terminal.end();
    this.submit.hidden = true;
    this.countdown.element.hidden = true;
    this.countdown.end();
    this.progress.setEnded();

    const banner = endedBanner(attempt, this.attemptId);
    this.resetSandbox.hidden = true;
    this.terminal.banners.replaceAll(banner);
    banner.focus({ preventScroll: true });
  }

  private showFatal(err: unknown): void {
    if (this.isInterview() && isAccessGone(err)) {
      // A withdrawn invite's token stops working at once: the done page says so.
      this.enterEnded({ ...(this.attempt as AttemptView), state: 'expired', endReason: this.attempt?.endReason ?? 'revoked' });
      return;
    }
    this.ended = true;
    this.warnings.stop();
    forgetAttempt(this.attemptId);
    this.terminal.dispose();
    this.root.replaceChildren(...attemptErrorPage(err, this.scope));
    this.root.querySelector<HTMLElement>('h1')?.focus();
  }

  private dispose(): void {
    this.terminal.dispose();
    this.toaster.dispose();
  }
}
