// Small DOM helpers: element creation and a Scope that owns everything a page registers, so leaving a
// page removes every listener, timer and socket it made.

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** Creates an element. Attributes set to false/null/undefined are skipped; `true` sets an empty one. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function clear(el: Element): void {
  el.replaceChildren();
}

export class Scope {
  private readonly controller = new AbortController();
  private readonly disposers = new Set<() => void>();

  /** Aborted on dispose: pass it to addEventListener and fetch. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get disposed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Registers a cleanup; returns a function that runs it early (and only once). */
  add(dispose: () => void): () => void {
    if (this.disposed) {
      dispose();
      return () => {};
    }
    const once = (): void => {
      if (this.disposers.delete(once)) dispose();
    };
    this.disposers.add(once);
    return once;
  }

  listen<K extends keyof WindowEventMap>(
    target: Window,
    type: K,
    handler: (event: WindowEventMap[K]) => void,
  ): void;
  listen<K extends keyof DocumentEventMap>(
    target: Document,
    type: K,
    handler: (event: DocumentEventMap[K]) => void,
  ): void;
  listen<K extends keyof HTMLElementEventMap>(
    target: HTMLElement,
    type: K,
    handler: (event: HTMLElementEventMap[K]) => void,
  ): void;
  listen(target: EventTarget, type: string, handler: (event: Event) => void): void {
    target.addEventListener(type, handler, { signal: this.signal });
  }

  /** A timer cleared on dispose; returns its cancel function. */
  timeout(fn: () => void, ms: number): () => void {
    let cancel = (): void => {};
    const id = window.setTimeout(() => {
      cancel();
      fn();
    }, ms);
    cancel = this.add(() => window.clearTimeout(id));
    return cancel;
  }

  interval(fn: () => void, ms: number): () => void {
    const id = window.setInterval(fn, ms);
    return this.add(() => window.clearInterval(id));
  }

  dispose(): void {
    if (this.disposed) return;
    this.controller.abort();
    // Each registered function removes itself from the set when it runs.
    const disposers = [...this.disposers].reverse();
    for (const dispose of disposers) {
      try {
        dispose();
      } catch (err) {
        console.error('dispose failed', err);
      }
    }
  }
}
