import './styles.css';
import { startRouter } from './router.js';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');

startRouter(
  root,
  [
    { path: '/', load: () => import('./pages/exercises.js') },
    { path: '/attempts/:id', load: () => import('./pages/attempt.js') },
    { path: '/attempts/:id/done', load: () => import('./pages/done.js') },
    { path: '/invite', load: () => import('./pages/invite.js') },
    { path: '/practice/:id', load: () => import('./pages/practice-result.js') },
    { path: '/login', load: () => import('./pages/login.js') },
    { path: '/setup', load: () => import('./pages/setup.js') },
    { path: '/activate', load: () => import('./pages/activate.js') },
    { path: '/manage', load: () => import('./pages/manage/dashboard.js') },
    { path: '/manage/invites', load: () => import('./pages/manage/invites.js') },
    { path: '/manage/users', load: () => import('./pages/manage/users.js') },
    { path: '/manage/tokens', load: () => import('./pages/manage/tokens.js') },
    { path: '/manage/webhooks', load: () => import('./pages/manage/webhooks.js') },
    { path: '/manage/attempts/:id', load: () => import('./pages/manage/review.js') },
    { path: '/manage/attempts/:id/live', load: () => import('./pages/manage/live.js') },
  ],
  () => import('./pages/not-found.js'),
);
