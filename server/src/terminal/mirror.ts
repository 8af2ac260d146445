import xtermHeadless from '@xterm/headless';
import serializeAddon from '@xterm/addon-serialize';

const { Terminal } = xtermHeadless;
const { SerializeAddon } = serializeAddon;

/** Lines of scrollback kept server-side and sent with a repaint. */
const SCROLLBACK = 1000;

/**
 * A headless terminal fed with everything the shell prints. It knows what the screen looks like right now, so
 * a browser that (re)connects gets the current screen instead of a blank one, and a viewer can watch live.
 */
export class ScreenMirror {
  private readonly term: InstanceType<typeof Terminal>;
  private readonly serializer: InstanceType<typeof SerializeAddon>;
  private pendingBytes = 0;
  private disposed = false;

  constructor(cols: number, rows: number) {
    // logLevel off: xterm logs every parse error (with its parser state) at error level, and a sandbox printing
    // binary (`cat /dev/urandom`) makes thousands a second: the server's log and CPU went to that.
    this.term = new Terminal({ cols, rows, scrollback: SCROLLBACK, allowProposedApi: true, logLevel: 'off' });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer);
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  /** Bytes handed to the parser but not parsed yet: counted by flow control like an unacknowledged client. */
  get pending(): number {
    return this.pendingBytes;
  }

  write(chunk: Uint8Array | string, onParsed?: () => void): void {
    if (this.disposed) return;
    const size = typeof chunk === 'string' ? chunk.length : chunk.byteLength;
    this.pendingBytes += size;
    this.term.write(chunk, () => {
      this.pendingBytes -= size;
      onParsed?.();
    });
  }

  resize(cols: number, rows: number): void {
    if (this.disposed) return;
    this.term.resize(cols, rows);
  }

  /**
   * The screen as an escape sequence string, taken after every chunk written before this call has been parsed
   * and before any chunk written after it: the write callback runs in order, inside the parser's loop.
   */
  snapshot(): Promise<string> {
    return new Promise((resolve) => {
      if (this.disposed) return resolve('');
      this.term.write('', () => resolve(this.serializer.serialize({ scrollback: SCROLLBACK })));
    });
  }

  /** Resolves once everything written so far has been parsed. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      if (this.disposed) return resolve();
      this.term.write('', resolve);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.term.dispose();
  }
}
