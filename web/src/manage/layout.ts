// The frame of every staff page: a header with the staff navigation and the signed-in user. A visitor without a
// session is sent to the login page and brought back afterwards.

import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import { setDocumentTitle } from '../ui/layout.js';
import { loadAuthState, type User } from './session.js';

export type StaffSection = 'dashboard' | 'invites' | 'users' | 'review';

export interface StaffFrame {
  main: HTMLElement;
  user: User;
}

/** Renders the staff frame into ctx.root, or redirects to /login and returns null. */
export async function staffPage(ctx: PageContext, title: string, section: StaffSection): Promise<StaffFrame | null> {
  const state = await loadAuthState(ctx.scope.signal);
  if (!state.user) {
    const next = location.pathname + location.search;
    ctx.navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    return null;
  }
  setDocumentTitle(title);
  const user = state.user;
  const link = (href: string, label: string, id: StaffSection) =>
    h('a', { href, class: 'staff-nav-link', 'aria-current': section === id ? 'page' : null }, label);
  const main = h('main', { class: 'page staff-page', id: 'main' });
  ctx.root.append(
    h(
      'header',
      { class: 'site-header staff-header' },
      h('a', { href: '/manage', class: 'brand' }, 'opslab'),
      h(
        'nav',
        { class: 'staff-nav', 'aria-label': 'Staff' },
        link('/manage', 'Attempts', 'dashboard'),
        link('/manage/invites', 'Invites', 'invites'),
        user.role === 'admin' ? link('/manage/users', 'Users', 'users') : null,
      ),
      h('span', { class: 'staff-user', 'data-testid': 'staff-user' }, `${user.name} (${user.role})`),
    ),
    main,
  );
  return { main, user };
}
