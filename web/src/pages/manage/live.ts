// `/manage/attempts/:id/live`: an interviewer watches a running attempt's terminal, read-only. The socket speaks
// the candidate terminal's protocol (repaint, output, acks); nothing typed here is sent. The terminal takes the
// candidate's size from each repaint instead of fitting itself, so lines wrap exactly as the candidate sees them.
// Tabs switch between the attempt's terminals: the view reconnects to the one chosen and is repainted from its
// screen on the server.
// Above the terminal, the attempt's signals so far (pastes, time away, idle; the tab away right now), refreshed
// every few seconds.

import '../../manage/live.css';
import { ApiError, isAbort, isAttemptActive, type AttemptView } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { liveUrl, manageApi, type AttemptOverview } from '../../manage/api.js';
import { reviewApi } from '../../review/api.js';
import { renderSignalSummary } from '../../review/signals.js';
import type { SignalReport } from '../../../../contract/signals.js';
import { staffPage } from '../../manage/layout.js';
import { attemptStateLabel, formatTimeOfDay, gradingBadge, statusBadge } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import type { ConnectionStatus } from '../../terminal/connection.js';
import { ConnectionPill, refetchAttempt, TerminalSession } from '../../terminal/session-controller.js';
import { TerminalTabs } from '../../terminal/terminal-tabs.js';
import { Countdown } from '../../ui/countdown.js';
import { errorText } from '../../ui/errors.js';
import { setDocumentTitle } from '../../ui/layout.js';
import { ServerClock } from '../../ui/server-clock.js';
import { Toaster } from '../../ui/toast.js';

/** How often the live view asks for the attempt's signals. */
const SIGNALS_REFRESH_MS = 10_000;

export default async function livePage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Live view', 'review');
  if (!frame || ctx.scope.disposed) return;
  const view = new LiveView(frame.main, ctx.scope, ctx.params['id'] ?? '');
  await view.start();
}

class LiveView {
  private readonly clock = new ServerClock();
  private readonly toaster = new Toaster();
  private attempt: AttemptView | null = null;
  private session: TerminalSession | null = null;
  private ended = false;
  private signals: SignalReport | null = null;
  private signalsLoading = false;

  private readonly heading = h('h1', { class: 'live-title', tabindex: -1, 'data-testid': 'live-title' }, 'Live view');
  private readonly exercise = h('span', { 'data-testid': 'live-exercise' }, '…');
  private readonly stateBadge = h('span', { 'data-testid': 'live-state' });
  private readonly pill = new ConnectionPill({ connected: 'Watching live', replaced: 'Disconnected' });
  private readonly countdown = new Countdown();
  private readonly deadline = h('time', { class: 'live-deadline', 'data-testid': 'live-deadline' }, '');
  private readonly reviewLink: HTMLAnchorElement;
  private readonly banners = h('div', { class: 'banner-area', 'data-testid': 'live-banners' });
  private readonly signalsHost = h('section', { class: 'live-signals', 'aria-label': 'Signals so far', 'data-testid': 'live-signals', hidden: true });
  private readonly termHost = h('div', { class: 'terminal-host live-terminal-host', 'data-testid': 'terminal' });
  private readonly termFrame = h('div', { class: 'terminal-frame live-terminal-frame', id: 'live-terminal-frame', role: 'tabpanel' }, this.termHost);
  private readonly tabs: TerminalTabs;
  /** The terminal watched (1: the candidate's main shell). */
  private terminal = 1;
  private readonly hint = h(
    'p',
    { class: 'terminal-hint', id: 'live-hint' },
    'Read-only: you see the candidate’s screen as it happens; keys pressed here are not sent. ',
    h('kbd', {}, 'F6'),
    ' leaves the terminal.',
  );

  constructor(
    private readonly main: HTMLElement,
    private readonly scope: Scope,
    private readonly attemptId: string,
  ) {
    this.main.classList.add('live-page');
    this.tabs = new TerminalTabs(scope, (n) => this.watch(n), { label: 'Candidate’s terminals', panelId: 'live-terminal-frame' });
    this.reviewLink = h(
      'a',
      { href: `/manage/attempts/${encodeURIComponent(attemptId)}`, class: 'button button-small', 'data-testid': 'review-link' },
      'Review page',
    );
    this.main.append(
      h(
        'header',
        { class: 'live-head' },
        h(
          'div',
          { class: 'live-who' },
          this.heading,
          h(
            'p',
            { class: 'live-meta' },
            this.exercise,
            this.stateBadge,
            statusBadge('Read-only', 'neutral', 'live-readonly'),
          ),
        ),
        h(
          'div',
          { class: 'live-status' },
          this.pill.element,
          this.countdown.element,
          h('span', { class: 'live-deadline-box' }, 'until ', this.deadline),
          this.reviewLink,
        ),
      ),
      this.signalsHost,
      this.banners,
      h(
        'section',
        { class: 'terminal-pane live-terminal-pane', 'aria-label': 'Candidate’s terminal (read-only)' },
        this.tabs.element,
        this.termFrame,
        this.hint,
      ),
      this.toaster.element,
    );
    scope.add(() => this.dispose());
    scope.interval(() => this.tick(), 500);
    scope.interval(() => void this.loadSignals(), SIGNALS_REFRESH_MS);
  }

  async start(): Promise<void> {
    this.heading.focus({ preventScroll: true });
    let overview: AttemptOverview;
    try {
      overview = await this.fetchOverview();
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.showFatal(err);
      return;
    }
    if (this.scope.disposed) return;
    this.applyOverview(overview);
    void this.loadSignals();
    if (!isAttemptActive(overview.attempt)) {
      this.termFrame.hidden = true;
      this.hint.hidden = true;
      this.enterEnded(overview.attempt);
      return;
    }
    this.openTerminal();
    this.session?.connect();
  }

  // ---- attempt -------------------------------------------------------------------------------------------

  private async fetchOverview(): Promise<AttemptOverview> {
    const sentAt = Date.now();
    const overview = await manageApi.getAttemptOverview(this.attemptId, this.scope.signal);
    this.clock.sync(overview.attempt.serverTime, sentAt);
    return overview;
  }

  private applyOverview(overview: AttemptOverview): void {
    const who = overview.candidate?.name ?? (overview.attempt.mode === 'practice' ? 'Practice attempt' : 'Candidate');
    this.heading.textContent = `Live: ${who}`;
    this.exercise.textContent = overview.exercise.title;
    setDocumentTitle(`Live: ${who}`);
    this.applyAttempt(overview.attempt);
  }

  private applyAttempt(attempt: AttemptView): void {
    this.attempt = attempt;
    this.main.dataset['attemptState'] = attempt.state;
    const grading = gradingBadge(attempt.grading);
    this.stateBadge.replaceChildren(
      statusBadge(attemptStateLabel(attempt.state, attempt.endReason), attempt.state === 'running' ? 'live' : 'done'),
      ...(grading ? [' ', grading] : []),
    );
    if (attempt.deadline) {
      this.deadline.dateTime = attempt.deadline;
      this.deadline.textContent = formatTimeOfDay(attempt.deadline);
    }
    this.tick();
    if (!isAttemptActive(attempt)) this.enterEnded(attempt);
  }

  /** Refetches; resolves false when the attempt is over or cannot be watched. */
  private refresh(): Promise<boolean> {
    return refetchAttempt(
      this.scope,
      () => this.fetchOverview(),
      (overview) => {
        this.applyOverview(overview);
        return overview.attempt;
      },
      (err) => {
        this.session?.stop();
        this.showFatal(err);
      },
    );
  }

  private tick(): void {
    const attempt = this.attempt;
    if (!attempt || this.ended) return;
    this.countdown.show(attempt.deadline, this.clock);
    // "Tab hidden now, for …" counts up between refreshes.
    if (this.signals?.awayNow) this.renderSignals();
  }

  // ---- signals -------------------------------------------------------------------------------------------

  private async loadSignals(): Promise<void> {
    // While the attempt runs, and once more after it ended (the last absence is closed then).
    if (this.signalsLoading || this.scope.disposed || (this.ended && this.signals && !this.signals.awayNow)) return;
    this.signalsLoading = true;
    try {
      this.signals = await reviewApi.getSignals(this.attemptId, this.scope.signal);
      this.renderSignals();
    } catch {
      // Signals are extra: a failed refresh keeps the last ones shown and tries again later.
    } finally {
      this.signalsLoading = false;
    }
  }

  private renderSignals(): void {
    if (!this.signals) return;
    this.signalsHost.hidden = false;
    this.signalsHost.replaceChildren(renderSignalSummary(this.signals, this.clock.now()));
  }

  // ---- terminal ------------------------------------------------------------------------------------------

  /** Watches terminal `n` instead: a new connection to it, repainted from its screen. */
  private watch(n: number): void {
    if (this.ended) return;
    this.terminal = n;
    this.session?.dispose();
    this.termHost.replaceChildren();
    this.clearBanner('shell');
    this.clearBanner('connection');
    this.openTerminal();
    this.session?.connect();
  }

  private openTerminal(): void {
    const n = this.terminal;
    this.session = new TerminalSession({
      scope: this.scope,
      host: this.termHost,
      url: liveUrl(this.attemptId, window.location, n),
      clock: this.clock,
      pill: this.pill,
      toaster: this.toaster,
      hintId: 'live-hint',
      // Read-only: keystrokes go nowhere, and the size is the candidate's, never this window's.
      readOnly: { frame: this.termFrame },
      onLeave: (direction) => (direction === 'forward' ? this.reviewLink : this.heading).focus(),
      onAttempt: (attempt) => this.applyAttempt(attempt),
      onShellExited: () =>
        this.showBanner(
          'shell',
          'info',
          n === 1
            ? 'The candidate’s shell exited. They can restart it from their window.'
            : `No shell runs in terminal ${n}: the candidate has not opened it, or its shell exited.`,
        ),
      onStatus: (status) => this.onConnectionStatus(status),
      onRepaint: () => {
        if (this.banners.querySelector('[data-banner="shell"]')) this.clearBanner('shell');
      },
      shouldReconnect: () => this.refresh(),
    });
  }

  private onConnectionStatus(status: ConnectionStatus): void {
    if (this.ended) return;
    switch (status.kind) {
      case 'connected':
        this.clearBanner('connection');
        break;
      case 'ended':
        void this.onEndedByServer();
        break;
      case 'replaced':
      case 'closed':
        void this.onClosed();
        break;
      case 'connecting':
      case 'reconnecting':
        break;
    }
  }

  private async onClosed(): Promise<void> {
    const active = await this.refresh().catch(() => true);
    if (!active || this.ended || this.scope.disposed) return;
    this.showBanner('connection', 'warn', 'The live view was disconnected.', {
      label: 'Reconnect',
      testid: 'reconnect',
      action: () => {
        this.clearBanner('connection');
        this.session?.connect();
      },
    });
  }

  private async onEndedByServer(): Promise<void> {
    try {
      await this.refresh();
    } catch {
      // The server said it ended; believe it even without the details.
    }
    if (!this.ended && !this.scope.disposed && this.attempt) {
      this.enterEnded({ ...this.attempt, state: 'archived' });
    }
  }

  // ---- the end -------------------------------------------------------------------------------------------

  private enterEnded(attempt: AttemptView): void {
    if (this.ended) return;
    this.ended = true;
    this.pill.end();
    this.session?.stop({ kind: 'ended', reason: attempt.endReason ?? attempt.state });
    this.termHost.classList.add('terminal-disabled');
    this.countdown.end('The attempt has ended');
    const why =
      attempt.endReason === 'submitted'
        ? 'The candidate submitted.'
        : attempt.endReason === 'expired'
          ? 'The time ran out.'
          : attempt.endReason === 'revoked'
            ? 'The invite was revoked.'
            : attempt.state === 'failed'
              ? 'The sandbox could not be started.'
              : '';
    this.banners.replaceChildren(
      h(
        'div',
        { class: 'banner banner-ended', role: 'status', 'data-testid': 'ended-banner', 'data-banner': 'ended' },
        h('p', { class: 'banner-text' }, `This attempt has ended. ${why}`.trim()),
        h(
          'a',
          { href: `/manage/attempts/${encodeURIComponent(this.attemptId)}`, class: 'button button-primary', 'data-testid': 'ended-review-link' },
          'Open the review',
        ),
      ),
    );
  }

  private showFatal(err: unknown): void {
    this.ended = true;
    this.termFrame.hidden = true;
    this.hint.hidden = true;
    this.pill.show('closed', 'Not connected');
    const text =
      err instanceof ApiError && err.status === 404
        ? 'There is no attempt with this address, or it was deleted.'
        : errorText(err, 'This attempt could not be loaded.');
    this.banners.replaceChildren(
      h(
        'div',
        { class: 'banner banner-error', role: 'alert', 'data-testid': 'live-error' },
        h('p', { class: 'banner-text' }, text),
        h('a', { href: '/manage', class: 'button' }, 'Back to the attempts'),
      ),
    );
  }

  private showBanner(
    id: string,
    level: 'info' | 'warn' | 'error',
    text: string,
    action?: { label: string; testid: string; action: () => void },
  ): void {
    this.clearBanner(id);
    const banner = h('div', { class: `banner banner-${level}`, role: 'status', 'data-banner': id, 'data-testid': `banner-${id}` }, h('p', { class: 'banner-text' }, text));
    if (action) {
      const button = h('button', { type: 'button', class: 'button', 'data-testid': action.testid }, action.label);
      button.addEventListener('click', action.action, { signal: this.scope.signal });
      banner.append(button);
    }
    this.banners.append(banner);
  }

  private clearBanner(id: string): void {
    this.banners.querySelector(`[data-banner="${id}"]`)?.remove();
  }

  private dispose(): void {
    this.session?.dispose();
    this.toaster.dispose();
  }
}
