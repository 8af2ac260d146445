// The replays of an attempt's terminals on one page: terminal 1's at once, a further terminal's (when the attempt
// opened one) behind a tab, loaded the first time it is shown. Every recording runs on the attempt's clock, so the
// command timeline marks its rows from whichever replay is shown, and a click on a command of terminal 2 switches
// to that replay before seeking.

import './terminal-replays.css';
import { h, type Scope } from '../dom.js';
import { TerminalTabs } from '../terminal/terminal-tabs.js';
import { Replay } from './player.js';

export interface TerminalReplaysOptions {
  scope: Scope;
  /** The recording of terminal `n`. */
  url: (terminal: number) => string;
  /** The recording time of the replay shown, about four times a second. */
  onTime?: (recordingSeconds: number) => void;
}

export class TerminalReplays {
  readonly element: HTMLElement;
  private readonly replays = new Map<number, Replay>();
  private readonly tabs: TerminalTabs;
  private readonly panel = h('div', { class: 'replay-panel', id: 'replay-panel', role: 'tabpanel' });
  private shown = 1;

  constructor(private readonly options: TerminalReplaysOptions) {
    this.tabs = new TerminalTabs(options.scope, (n) => this.show(n), { label: 'Replays of the terminals', panelId: 'replay-panel' });
    this.tabs.element.classList.add('replay-tabs');
    this.tabs.element.hidden = true;
    this.element = h('div', { class: 'terminal-replays', 'data-testid': 'terminal-replays' }, this.tabs.element, this.panel);
    this.show(1);
    void this.probe(2);
  }

  /** The replay shown now. */
  get current(): Replay {
    return this.replayOf(this.shown);
  }

  currentTime(): number {
    return this.current.currentTime();
  }

  /** Moves terminal `terminal`'s replay (shown first) to a moment of the recording. */
  async seek(recordingSeconds: number, terminal = 1): Promise<void> {
    if (terminal !== this.shown) {
      this.tabs.select(terminal);
      this.show(terminal);
    }
    const replay = this.replayOf(terminal);
    await replay.loaded();
    await replay.seek(recordingSeconds);
  }

  private show(n: number): void {
    this.shown = n;
    this.tabs.select(n);
    this.panel.replaceChildren(this.replayOf(n).element);
  }

  private replayOf(n: number): Replay {
    let replay = this.replays.get(n);
    if (!replay) {
      replay = Replay.load(
        { url: this.options.url(n) },
        { scope: this.options.scope, onTime: (t) => (this.shown === n ? this.options.onTime?.(t) : undefined) },
      );
      this.replays.set(n, replay);
    }
    return replay;
  }

  /** Shows the tabs when terminal `n` has a recording (an attempt that never opened it has none). */
  private async probe(n: number): Promise<void> {
    try {
      const response = await fetch(this.options.url(n), { method: 'HEAD', credentials: 'same-origin', signal: this.options.scope.signal });
      if (response.ok && !this.options.scope.disposed) this.tabs.element.hidden = false;
    } catch {
      /* no second recording to offer */
    }
  }
}
