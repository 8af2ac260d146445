// The workspace's right half: the candidate's shell with its banners and keyboard hint. It reacts to the
// connection (a lasting loss, a close, another tab taking over) and to the shell exiting (restart it), each with a
// banner whose button mends it.

import { api, ApiError, isAbort, terminalUrl, type AttemptView } from '../api.js';
import { h, type Scope } from '../dom.js';
import type { ConnectionStatus } from '../terminal/connection.js';
import { TerminalSession, type ConnectionPill } from '../terminal/session-controller.js';
import { errorText } from '../ui/errors.js';
import type { ServerClock } from '../ui/server-clock.js';
import type { Toaster } from '../ui/toast.js';
import { WorkspaceBanners } from './banners.js';

export interface TerminalPaneOptions {
  attemptId: string;
  scope: Scope;
  clock: ServerClock;
  pill: ConnectionPill;
  toaster: Toaster;
  /** True once the attempt is over (or cannot be opened). */
  isEnded(): boolean;
  /** A newer view of the attempt arrived. */
  applyAttempt(attempt: AttemptView): void;
  /** Refetches the attempt; resolves false when it is over or no longer ours. */
  refreshAttempt(): Promise<boolean>;
  /** The server closed the socket because the attempt ended (`reason` says how). */
  onEndedByServer(reason: string): void;
  /** F6 / Shift+F6 pressed inside the terminal. */
  onLeave(direction: 'forward' | 'backward'): void;
}

export class TerminalPane {
  readonly element: HTMLElement;
  readonly banners: WorkspaceBanners;
  /** The shell, once opened (only for a running attempt). */
  session: TerminalSession | null = null;
  private readonly host = h('div', { class: 'terminal-host', 'data-testid': 'terminal' });
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

  constructor(private readonly options: TerminalPaneOptions) {
    this.banners = new WorkspaceBanners(options.scope);
    this.element = h(
      'section',
      { class: 'terminal-pane', 'aria-label': 'Terminal' },
      this.banners.element,
      h('div', { class: 'terminal-frame' }, this.host),
      this.hint,
    );
  }

  /** Opens the shell (connect it once the attempt is applied). */
  open(): TerminalSession {
    const { options } = this;
    this.session = new TerminalSession({
      scope: options.scope,
      host: this.host,
      url: terminalUrl(options.attemptId),
      clock: options.clock,
      pill: options.pill,
      toaster: options.toaster,
      hintId: 'terminal-hint',
      onLeave: (direction) => options.onLeave(direction),
      onAttempt: (attempt) => options.applyAttempt(attempt),
      onShellExited: (code) => this.onShellExited(code),
      onStatus: (status) => this.onStatus(status),
      // A refused upgrade (401/403/404/410) looks like any other failed socket here: the attempt says why.
      shouldReconnect: () => options.refreshAttempt(),
    });
    return this.session;
  }

  /** Focuses the shell; false when there is none to type into. */
  focus(): boolean {
    if (!this.session || this.options.isEnded()) return false;
    this.session.focus();
    return true;
  }

  /** The attempt is over: the shell stays readable, without input, banners or hint. */
  end(): void {
    this.session?.setInputEnabled(false);
    this.session?.view.term.blur();
    this.hint.hidden = true;
    this.banners.clear('shell');
    this.banners.clear('connection');
    if (!this.session) this.host.classList.add('terminal-empty');
  }

  dispose(): void {
    this.banners.cancelLostBanner();
    this.session?.dispose();
    this.session = null;
  }

  private onStatus(status: ConnectionStatus): void {
    if (this.options.isEnded()) return;
    if (status.kind === 'reconnecting' || (status.kind === 'connecting' && status.retry)) {
      this.banners.scheduleLostBanner(
        () => {
          const kind = this.session?.status.kind;
          return !this.options.isEnded() && (kind === 'reconnecting' || kind === 'connecting');
        },
        () => this.session?.connect(),
      );
    } else {
      this.banners.cancelLostBanner();
    }
    switch (status.kind) {
      case 'connected':
        this.banners.clear('connection');
        this.session?.setInputEnabled(true);
        break;
      case 'ended':
        this.options.onEndedByServer(status.reason);
        break;
      case 'replaced':
        this.session?.setInputEnabled(false);
        this.banners.show('connection', 'warn', 'This attempt is open in another tab.', {
          label: 'Use here',
          testid: 'use-here',
          action: () => this.reconnect(),
        });
        break;
      case 'moved':
        // The invite's link was reissued: this browser's credential is gone, so there is nothing to reconnect to.
        this.session?.setInputEnabled(false);
        this.banners.show(
          'connection',
          'warn',
          'This attempt now continues in another browser: its invite link was reissued. If that was not you, tell your interviewer.',
          { label: 'Reload', testid: 'moved-reload', action: () => location.reload() },
        );
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

  private reconnect(): void {
    this.banners.clear('connection');
    this.session?.connect();
    this.session?.focus();
  }

  /** A normal close from the server: find out whether the attempt ended before offering to reconnect. */
  private async onClosedByServer(): Promise<void> {
    const active = await this.options.refreshAttempt().catch(() => true);
    if (!active || this.options.isEnded() || this.options.scope.disposed) return;
    this.banners.show('connection', 'warn', 'The connection to your sandbox was closed.', {
      label: 'Reconnect',
      testid: 'reconnect',
      action: () => this.reconnect(),
    });
  }

  private onShellExited(code: number): void {
    if (this.options.isEnded()) return;
    this.session?.setInputEnabled(false);
    const detail = code >= 0 ? ` (exit status ${code})` : '';
    const restart = this.banners.show('shell', 'info', `The shell exited${detail}.`, {
      label: 'Restart shell',
      testid: 'restart-shell',
      action: (button) => void this.restartShell(button),
    });
    // A keyboard user sitting in the terminal needs to reach the button.
    restart.focus();
  }

  private async restartShell(button: HTMLButtonElement): Promise<void> {
    const { attemptId, scope, clock } = this.options;
    button.disabled = true;
    button.textContent = 'Restarting…';
    try {
      const sentAt = Date.now();
      const attempt = await api.restartShell(attemptId, scope.signal);
      clock.sync(attempt.serverTime, sentAt);
      this.options.applyAttempt(attempt);
      if (this.options.isEnded()) return;
      this.banners.clear('shell');
      this.session?.connect();
      this.session?.focus();
    } catch (err) {
      if (isAbort(err) || scope.disposed) return;
      if (err instanceof ApiError && err.status === 409) {
        await this.options.refreshAttempt().catch(() => false);
        return;
      }
      button.disabled = false;
      button.textContent = 'Restart shell';
      this.options.toaster.show(errorText(err, 'The shell could not be restarted.'), 'error');
    }
  }
}
