// The frame of every staff page: a header with the staff navigation, the signed-in user and Sign out. A visitor
// without a session is sent to the login page and brought back afterwards.

import './staff.css';
import { h } from '../dom.js';
import type { PageContext } from '../router.js';
import { setDocumentTitle } from '../ui/layout.js';
import { loadAuthState, logout, type User } from './session.js';

export type StaffSection = 'dashboard' | 'invites' | 'users' | 'review' | 'webhooks';

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
  const signOut = h(
    'button',
    { type: 'button', class: 'button button-small staff-signout', 'data-testid': 'sign-out' },
    'Sign out',
  );
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
        user.role === 'admin' ? link('/manage/webhooks', 'Webhooks', 'webhooks') : null,
      ),
      h('span', { class: 'staff-user', 'data-testid': 'staff-user' }, `${user.name} (${user.role})`),
      signOut,
    ),
    main,
  );
  ctx.scope.listen(signOut, 'click', () => {
    if (signOut.getAttribute('aria-busy') === 'true') return;
    signOut.setAttribute('aria-busy', 'true');
    // Whatever the answer (an ended session answers 401), the page leaves the staff area.
    void logout()
      .catch(() => undefined)
      .then(() => {
        if (!ctx.scope.disposed) ctx.navigate('/login?signedOut=1');
      });
  });
  return { main, user };
}
