// The workspace's right half: the candidate's shell with its banners and keyboard hint. It reacts to the
// connection (a lasting loss, a close, another tab taking over) and to the shell exiting (restart it), each with a
// banner whose button mends it. Tabs switch to a second terminal in the same sandbox, opened on first use; both
// stay connected while the other is shown.

import { api, ApiError, isAbort, terminalUrl, type AttemptView } from '../api.js';
import { h, type Scope } from '../dom.js';
import type { ConnectionStatus } from '../terminal/connection.js';
import { ConnectionPill, TerminalSession } from '../terminal/session-controller.js';
import { TerminalTabs } from '../terminal/terminal-tabs.js';
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
  /** The second terminal, once its tab was first chosen. */
  private second: TerminalSession | null = null;
  /** The second terminal's connection state (its tab shows it; the page's pill follows terminal 1). */
  private readonly secondPill = new ConnectionPill({ connected: 'Connected', replaced: 'Open in another tab' });
  private readonly host = h('div', { class: 'terminal-host', 'data-testid': 'terminal' });
  private readonly host2 = h('div', { class: 'terminal-host', 'data-testid': 'terminal-2', hidden: true });
  private readonly tabs: TerminalTabs;
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
    this.tabs = new TerminalTabs(options.scope, (n) => this.show(n), { label: 'Terminals', panelId: 'terminal-frame' });
    this.tabs.element.hidden = true;
    this.element = h(
      'section',
      { class: 'terminal-pane', 'aria-label': 'Terminal' },
      this.banners.element,
      this.tabs.element,
      h('div', { class: 'terminal-frame', id: 'terminal-frame', role: 'tabpanel' }, this.host, this.host2),
      this.hint,
    );
  }

  /** The terminal shown now. */
  private get active(): TerminalSession | null {
    return this.tabs.selected === 1 ? this.session : this.second;
  }

  /** Shows terminal `n` (the second is opened, and its shell started, the first time). */
  private show(n: number): void {
    this.tabs.select(n);
    this.host.hidden = n !== 1;
    this.host2.hidden = n !== 2;
    if (n === 2 && !this.second && !this.options.isEnded()) {
      this.second = this.openSession(2, this.host2, this.secondPill);
      this.second.connect();
    }
    // Hidden, a terminal cannot measure itself: fit the one shown now to the frame.
    this.active?.view.fitNow();
    this.focus();
  }

  /** Opens the shell (connect it once the attempt is applied). */
  open(): TerminalSession {
    this.session = this.openSession(1, this.host, this.options.pill);
    this.tabs.element.hidden = false;
    return this.session;
  }

  private openSession(n: number, host: HTMLElement, pill: ConnectionPill): TerminalSession {
    const { options } = this;
    const session: TerminalSession = new TerminalSession({
      scope: options.scope,
      host,
      url: terminalUrl(options.attemptId, window.location, n),
      clock: options.clock,
      pill,
      toaster: options.toaster,
      hintId: 'terminal-hint',
      onLeave: (direction) => options.onLeave(direction),
      onAttempt: (attempt) => options.applyAttempt(attempt),
      onShellExited: (code) => this.onShellExited(code, n, session),
      onStatus: (status) => {
        this.tabs.setState(n, status.kind);
        this.onStatus(status, session);
      },
      // A refused upgrade (401/403/404/410) looks like any other failed socket here: the attempt says why.
      shouldReconnect: () => options.refreshAttempt(),
    });
    return session;
  }

  /** Focuses the shell shown; false when there is none to type into. */
  focus(): boolean {
    const active = this.active;
    if (!active || this.options.isEnded()) return false;
    active.focus();
    return true;
  }

  /** No more reconnects for any of the terminals; the page's pill shows `status`. */
  stop(status?: ConnectionStatus): void {
    this.session?.stop(status);
    this.second?.stop(status);
  }

  /** The attempt is over: the shells stay readable, without input, banners or hint. */
  end(): void {
    // Terminal 1's connection was stopped by the page; the second stops with it.
    this.second?.stop(this.session?.status);
    for (const session of [this.session, this.second]) {
      session?.setInputEnabled(false);
      session?.view.term.blur();
    }
    this.hint.hidden = true;
    this.banners.clear('shell');
    this.banners.clear('connection');
    if (!this.session) {
      this.host.classList.add('terminal-empty');
      this.tabs.element.hidden = true;
    }
  }

  dispose(): void {
    this.banners.cancelLostBanner();
    this.session?.dispose();
    this.second?.dispose();
    this.session = null;
    this.second = null;
  }

  private onStatus(status: ConnectionStatus, session: TerminalSession): void {
    if (this.options.isEnded()) return;
    // The lost-connection banner follows terminal 1 (both use the same server; the second's tab shows its state).
    if (session !== this.session) {
      if (status.kind === 'connected') session.setInputEnabled(true);
      else if (status.kind === 'ended') this.options.onEndedByServer(status.reason);
      else if (status.kind === 'replaced' || status.kind === 'moved' || status.kind === 'closed') session.setInputEnabled(false);
      if (status.kind === 'replaced') this.showReplaced(session);
      return;
    }
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
        this.showReplaced(session);
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

  private showReplaced(session: TerminalSession): void {
    session.setInputEnabled(false);
    this.banners.show('connection', 'warn', 'This attempt is open in another tab.', {
      label: 'Use here',
      testid: 'use-here',
      action: () => this.reconnect(),
    });
  }

  /** Takes the attempt back from another tab: every terminal opened here connects again. */
  private reconnect(): void {
    this.banners.clear('connection');
    this.session?.connect();
    this.second?.connect();
    this.focus();
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

  private onShellExited(code: number, n: number, session: TerminalSession): void {
    if (this.options.isEnded()) return;
    session.setInputEnabled(false);
    const detail = code >= 0 ? ` (exit status ${code})` : '';
    if (n !== 1) {
      this.tabs.setState(n, 'exited');
      // A further terminal's shell starts again when its socket connects again; the sandbox is untouched.
      const again = this.banners.show('shell', 'info', `The shell in terminal ${n} exited${detail}.`, {
        label: 'New shell',
        testid: 'restart-shell',
        action: () => {
          this.banners.clear('shell');
          session.connect();
          session.focus();
        },
      });
      if (this.tabs.selected === n) again.focus();
      return;
    }
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
