// xterm.js in a container: fits itself to the container, turns keystrokes and pastes into byte frames, and
// gives keyboard users a way out (Tab belongs to the shell, so F6 leaves the terminal).

import '@xterm/xterm/css/xterm.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import { encodeBinary, encodeData } from './input.js';

export interface TerminalViewOptions {
  /** Bytes to send to the shell, at most one frame each. */
  onInput(frame: Uint8Array): void;
  onResize(cols: number, rows: number): void;
  /** F6 / Shift+F6 pressed inside the terminal. */
  onLeave(direction: 'forward' | 'backward'): void;
  /** Fit rows and columns to the container (default). A read-only viewer sets false and sizes it itself. */
  fit?: boolean;
}

const RESIZE_DEBOUNCE_MS = 120;

const THEME: ITheme = {
  background: '#11151c',
  foreground: '#d8dee9',
  cursor: '#e5e9f0',
  cursorAccent: '#11151c',
  selectionBackground: '#3b4a63',
  black: '#1c2029',
  red: '#e06c75',
  green: '#98c379',
  yellow: '#e5c07b',
  blue: '#61afef',
  magenta: '#c678dd',
  cyan: '#56b6c2',
  white: '#d8dee9',
  brightBlack: '#5c6370',
  brightRed: '#ff7b86',
  brightGreen: '#b5e890',
  brightYellow: '#ffd68a',
  brightBlue: '#8cc8ff',
  brightMagenta: '#dd9cf0',
  brightCyan: '#7fd4de',
  brightWhite: '#ffffff',
};

const EMPTY = new Uint8Array(0);

export class TerminalView {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly disposers: (() => void)[] = [];
  private resizeTimer: number | null = null;
  private disposed = false;

  constructor(
    private readonly host: HTMLElement,
    private readonly options: TerminalViewOptions,
  ) {
    this.term = new Terminal({
      fontFamily: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEME,
      allowProposedApi: false,
    });
    this.term.loadAddon(this.fit);
    this.term.open(host);

    const onData = this.term.onData((data) => {
      for (const frame of encodeData(data)) this.options.onInput(frame);
    });
    const onBinary = this.term.onBinary((data) => {
      for (const frame of encodeBinary(data)) this.options.onInput(frame);
    });
    const onResize = this.term.onResize(({ cols, rows }) => this.options.onResize(cols, rows));
    this.disposers.push(
      () => onData.dispose(),
      () => onBinary.dispose(),
      () => onResize.dispose(),
    );

    this.term.attachCustomKeyEventHandler((event) => {
      if (event.key !== 'F6' || event.ctrlKey || event.altKey || event.metaKey) return true;
      if (event.type === 'keydown') {
        event.preventDefault();
        this.options.onLeave(event.shiftKey ? 'backward' : 'forward');
      }
      return false;
    });

    if (options.fit === false) return;
    // Follows the container, which covers window resizes and layout changes alike.
    const observer = new ResizeObserver(() => this.scheduleFit());
    observer.observe(host);
    this.disposers.push(() => observer.disconnect());
    this.fitNow();
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  write(data: Uint8Array, processed: () => void): void {
    if (this.disposed) {
      processed();
      return;
    }
    this.term.write(data, processed);
  }

  /**
   * Clears the terminal for a repaint. The reset is queued behind output already handed to xterm, so stale
   * bytes from a previous connection cannot land on top of the repainted screen.
   */
  queueReset(): void {
    if (this.disposed) return;
    this.term.write(EMPTY, () => {
      if (!this.disposed) this.term.reset();
    });
  }

  setInputEnabled(enabled: boolean): void {
    this.term.options.disableStdin = !enabled;
    this.term.options.cursorBlink = enabled;
    this.host.classList.toggle('terminal-disabled', !enabled);
  }

  focus(): void {
    this.term.focus();
  }

  /** Fits now (e.g. after the layout changed in a way the observer cannot see yet). */
  fitNow(): void {
    if (this.disposed || !this.isShown()) return;
    const dims = this.fit.proposeDimensions();
    if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows)) return;
    if (dims.cols === this.term.cols && dims.rows === this.term.rows) return;
    this.fit.fit();
  }

  /**
   * Whether the container is laid out with a size. A hidden one (another terminal's tab is shown) keeps the size
   * it had: the fit addon would read `width: 100%` of a `display: none` box as 100 pixels and shrink the shell's
   * TTY to 10x5, rewrapping everything it prints (and the server's screen mirror) until the tab is shown again.
   */
  private isShown(): boolean {
    return this.host.isConnected && this.host.clientWidth > 0 && this.host.clientHeight > 0;
  }

  private scheduleFit(): void {
    if (this.resizeTimer !== null) window.clearTimeout(this.resizeTimer);
    this.resizeTimer = window.setTimeout(() => {
      this.resizeTimer = null;
      this.fitNow();
    }, RESIZE_DEBOUNCE_MS);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.resizeTimer !== null) window.clearTimeout(this.resizeTimer);
    for (const dispose of this.disposers.splice(0)) dispose();
    this.term.dispose();
  }
}
