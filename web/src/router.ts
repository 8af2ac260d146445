// A tiny router on location.pathname. Each route lazily loads one page module; leaving a page disposes
// its Scope, which removes whatever the page registered.

import { Scope } from './dom.js';

export interface PageContext {
  /** The element the page renders into; emptied before each page. */
  root: HTMLElement;
  /** Disposed when the page is left. */
  scope: Scope;
  params: Readonly<Record<string, string>>;
  navigate(path: string, options?: { replace?: boolean }): void;
}

export type Page = (ctx: PageContext) => void | Promise<void>;

export interface Route {
  /** A path such as `/attempts/:id`; `:name` matches one non-empty segment. */
  path: string;
  load: () => Promise<{ default: Page }>;
}

interface CompiledRoute {
  regex: RegExp;
  keys: string[];
  load: Route['load'];
}

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        keys.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${source}/?$`), keys, load: route.load };
}

export function startRouter(root: HTMLElement, routes: Route[], notFound: Route['load']): void {
  const compiled = routes.map(compile);
  let current: Scope | null = null;
  let renderId = 0;

  const navigate = (path: string, options: { replace?: boolean } = {}): void => {
    if (options.replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    void render();
  };

  async function render(): Promise<void> {
    const id = ++renderId;
    current?.dispose();
    current = null;

    const pathname = location.pathname;
    let load = notFound;
    let params: Record<string, string> = {};
    for (const route of compiled) {
      const match = route.regex.exec(pathname);
      if (!match) continue;
      load = route.load;
      params = Object.fromEntries(route.keys.map((key, i) => [key, decodeURIComponent(match[i + 1] ?? '')]));
      break;
    }

    let page: Page;
    try {
      page = (await load()).default;
    } catch (err) {
      // A new deployment may have replaced the hashed chunk this old page refers to.
      console.error('could not load page', err);
      if (id === renderId) {
        root.replaceChildren(pageLoadError());
      }
      return;
    }
    if (id !== renderId) return;

    const scope = new Scope();
    current = scope;
    root.replaceChildren();
    window.scrollTo(0, 0);
    try {
      await page({ root, scope, params, navigate });
    } catch (err) {
      console.error('page failed', err);
      if (id === renderId) root.replaceChildren(pageLoadError());
    }
  }

  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target.closest('a') : null;
    if (!target || target.target || target.hasAttribute('download')) return;
    const url = new URL(target.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    event.preventDefault();
    if (url.pathname + url.search === location.pathname + location.search) return;
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener('popstate', () => void render());

  void render();
}

function pageLoadError(): HTMLElement {
  const box = document.createElement('main');
  box.className = 'page page-narrow';
  const p = document.createElement('p');
  p.className = 'message message-error';
  p.textContent = 'This page could not be shown. Reload the page to try again.';
  box.append(p);
  return box;
}
