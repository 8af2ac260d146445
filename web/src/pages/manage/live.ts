// `/manage/attempts/:id/live`: an interviewer watches a running attempt's terminal, read-only. The socket speaks
// the candidate terminal's protocol (repaint, output, acks); nothing typed here is sent. The terminal takes the
// candidate's size from each repaint instead of fitting itself, so lines wrap exactly as the candidate sees them.

import '../../manage/live.css';
import { ApiError, isAbort, isAttemptActive, type AttemptView } from '../../api.js';
import { h, type Scope } from '../../dom.js';
import { liveUrl, manageApi, type AttemptOverview } from '../../manage/api.js';
import { staffPage } from '../../manage/layout.js';
import { attemptStateLabel, formatTimeOfDay, statusBadge } from '../../manage/widgets.js';
import type { PageContext } from '../../router.js';
import { TerminalConnection, type CloseInfo, type ConnectionStatus } from '../../terminal/connection.js';
import { TerminalView } from '../../terminal/terminal-view.js';
import { errorText } from '../../ui/errors.js';
import { formatClock, formatDurationWords } from '../../ui/format.js';
import { setDocumentTitle } from '../../ui/layout.js';
import { ServerClock } from '../../ui/server-clock.js';
import { Toaster } from '../../ui/toast.js';

const WARN_MS = 10 * 60_000;
const DANGER_MS = 2 * 60_000;
/** Font sizes the view may use to fit the candidate's columns and rows into the window. */
const FONT_MAX = 14;
const FONT_MIN = 8;
const EMPTY = new Uint8Array(0);

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
  private view: TerminalView | null = null;
  private connection: TerminalConnection | null = null;
  private ended = false;
  private size: { cols: number; rows: number } | null = null;

  private readonly heading = h('h1', { class: 'live-title', tabindex: -1, 'data-testid': 'live-title' }, 'Live view');
  private readonly exercise = h('span', { 'data-testid': 'live-exercise' }, '…');
  private readonly stateBadge = h('span', { 'data-testid': 'live-state' });
  private readonly connState = h('span', { class: 'conn', 'data-testid': 'connection-state', 'data-state': 'connecting' }, 'Connecting…');
  private readonly countdown = h('span', { class: 'countdown', 'data-testid': 'countdown', role: 'timer', 'aria-label': 'Time left' }, '—');
  private readonly deadline = h('time', { class: 'live-deadline', 'data-testid': 'live-deadline' }, '');
  private readonly reviewLink: HTMLAnchorElement;
  private readonly banners = h('div', { class: 'banner-area', 'data-testid': 'live-banners' });
  private readonly termHost = h('div', { class: 'terminal-host live-terminal-host', 'data-testid': 'terminal' });
  private readonly termFrame = h('div', { class: 'terminal-frame live-terminal-frame' }, this.termHost);
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
          this.connState,
          h(
            'span',
            { class: 'countdown-box' },
            h('span', { class: 'countdown-label', 'aria-hidden': 'true' }, 'Time left'),
            this.countdown,
          ),
          h('span', { class: 'live-deadline-box' }, 'until ', this.deadline),
          this.reviewLink,
        ),
      ),
      this.banners,
      h('section', { class: 'terminal-pane live-terminal-pane', 'aria-label': 'Candidate’s terminal (read-only)' }, this.termFrame, this.hint),
      this.toaster.element,
    );
    scope.add(() => this.dispose());
    scope.interval(() => this.tick(), 500);
    // The window changes size: pick the font size that shows all of the candidate's columns again.
    const observer = new ResizeObserver(() => this.fitFont());
    observer.observe(this.termFrame);
    scope.add(() => observer.disconnect());
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
    if (!isAttemptActive(overview.attempt)) {
      this.termFrame.hidden = true;
      this.hint.hidden = true;
      this.enterEnded(overview.attempt);
      return;
    }
    this.openTerminal();
    this.connection?.connect();
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
    this.stateBadge.replaceChildren(
      statusBadge(attemptStateLabel(attempt.state, attempt.endReason), attempt.state === 'running' ? 'live' : 'done'),
    );
    if (attempt.deadline) {
      this.deadline.dateTime = attempt.deadline;
      this.deadline.textContent = formatTimeOfDay(attempt.deadline);
    }
    this.tick();
    if (!isAttemptActive(attempt)) this.enterEnded(attempt);
  }

  /** Refetches; resolves false when the attempt is over or cannot be watched. */
  private async refresh(): Promise<boolean> {
    try {
      const overview = await this.fetchOverview();
      if (this.scope.disposed) return false;
      this.applyOverview(overview);
      return isAttemptActive(overview.attempt);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return false;
      if (err instanceof ApiError && [401, 403, 404, 410].includes(err.status)) {
        this.connection?.stop();
        this.showFatal(err);
        return false;
      }
      throw err;
    }
  }

  private tick(): void {
    const attempt = this.attempt;
    if (!attempt || this.ended) return;
    if (this.connection?.status.kind === 'reconnecting') this.renderConnState(this.connection.status);
    if (!attempt.deadline) {
      this.setCountdown('—', 'Not started yet', null);
      return;
    }
    const remaining = this.clock.until(attempt.deadline);
    this.setCountdown(formatClock(remaining), `${formatDurationWords(remaining)} left`, remaining);
  }

  private setCountdown(text: string, label: string, remaining: number | null): void {
    if (this.countdown.textContent !== text) this.countdown.textContent = text;
    this.countdown.setAttribute('aria-label', `Time left: ${label}`);
    const level = remaining === null ? 'normal' : remaining <= DANGER_MS ? 'danger' : remaining <= WARN_MS ? 'warn' : 'normal';
    this.countdown.dataset['level'] = level;
    if (remaining !== null) this.countdown.dataset['remainingMs'] = String(Math.max(0, Math.round(remaining)));
  }

  // ---- terminal ------------------------------------------------------------------------------------------

  private openTerminal(): void {
    const view = new TerminalView(this.termHost, {
      // Read-only: keystrokes go nowhere, and the size is the candidate's, never this window's.
      onInput: () => {},
      onResize: () => {},
      onLeave: (direction) => (direction === 'forward' ? this.reviewLink : this.heading).focus(),
      fit: false,
    });
    view.term.options.disableStdin = true;
    view.term.options.cursorBlink = false;
    view.term.textarea?.setAttribute('aria-describedby', 'live-hint');
    view.term.textarea?.setAttribute('aria-readonly', 'true');
    this.view = view;

    this.connection = new TerminalConnection(liveUrl(this.attemptId), {
      status: (status) => this.onConnectionStatus(status),
      message: (message) => {
        switch (message.type) {
          case 'hello':
          case 'attempt':
            this.clock.sync(message.attempt.serverTime);
            this.applyAttempt(message.attempt);
            break;
          case 'shell-exited':
            this.showBanner('shell', 'info', 'The candidate’s shell exited. They can restart it from their window.');
            break;
          case 'notice':
            this.toaster.show(message.message || message.code, message.level === 'error' ? 'error' : 'warn');
            break;
        }
      },
      repaint: (size) => this.onRepaint(size),
      output: (data, processed) => view.write(data, processed),
      // Sent on connect; the server ignores a viewer's size.
      size: () => this.size ?? { cols: view.cols, rows: view.rows },
      shouldReconnect: (close) => this.shouldReconnect(close),
    });
  }

  /** Clears the screen and takes the candidate's size, both queued behind output already handed to xterm. */
  private onRepaint(size: { cols: number; rows: number } | undefined): void {
    const view = this.view;
    if (!view) return;
    view.queueReset();
    if (this.banners.querySelector('[data-banner="shell"]')) this.clearBanner('shell');
    if (!size) return;
    view.term.write(EMPTY, () => {
      if (this.scope.disposed) return;
      this.size = size;
      if (view.cols !== size.cols || view.rows !== size.rows) view.term.resize(size.cols, size.rows);
      this.termHost.dataset['cols'] = String(size.cols);
      this.termHost.dataset['rows'] = String(size.rows);
      requestAnimationFrame(() => this.fitFont());
    });
  }

  /** The largest font (up to the normal one) with which all of the candidate's columns and rows fit. */
  private fitFont(): void {
    const view = this.view;
    if (!view || this.scope.disposed) return;
    const screen = this.termHost.querySelector<HTMLElement>('.xterm-screen');
    if (!screen || screen.offsetWidth === 0 || screen.offsetHeight === 0) return;
    const current = view.term.options.fontSize ?? FONT_MAX;
    const style = getComputedStyle(this.termFrame);
    const availableWidth = this.termFrame.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
    const availableHeight = this.termFrame.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    const perPoint = Math.min(availableWidth / (screen.offsetWidth / current), availableHeight / (screen.offsetHeight / current));
    const next = Math.max(FONT_MIN, Math.min(FONT_MAX, Math.floor(perPoint)));
    if (next !== current) view.term.options.fontSize = next;
  }

  private async shouldReconnect(_close: CloseInfo): Promise<boolean> {
    return this.refresh();
  }

  private onConnectionStatus(status: ConnectionStatus): void {
    this.renderConnState(status);
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
        this.connection?.connect();
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

  private renderConnState(status: ConnectionStatus): void {
    let text: string;
    switch (status.kind) {
      case 'connecting':
        text = status.retry ? 'Reconnecting…' : 'Connecting…';
        break;
      case 'connected':
        text = 'Watching live';
        break;
      case 'reconnecting': {
        const seconds = Math.ceil((status.at - Date.now()) / 1000);
        text = seconds > 0 ? `Reconnecting in ${seconds}s` : 'Reconnecting…';
        break;
      }
      case 'replaced':
      case 'closed':
        text = 'Disconnected';
        break;
      case 'ended':
        text = 'Ended';
        break;
    }
    const kind = this.ended ? 'ended' : status.kind;
    if (this.ended) text = 'Ended';
    this.connState.dataset['state'] = kind;
    if (this.connState.textContent !== text) this.connState.textContent = text;
  }

  // ---- the end -------------------------------------------------------------------------------------------

  private enterEnded(attempt: AttemptView): void {
    if (this.ended) return;
    this.ended = true;
    this.connection?.stop({ kind: 'ended', reason: attempt.endReason ?? attempt.state });
    this.renderConnState({ kind: 'ended', reason: attempt.endReason ?? attempt.state });
    this.termHost.classList.add('terminal-disabled');
    this.countdown.textContent = 'Ended';
    this.countdown.dataset['level'] = 'ended';
    this.countdown.setAttribute('aria-label', 'The attempt has ended');
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
    this.connState.dataset['state'] = 'closed';
    this.connState.textContent = 'Not connected';
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
    this.connection?.dispose();
    this.view?.dispose();
    this.toaster.dispose();
  }
}
