import './styles.css';
import { startRouter } from './router.js';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');

startRouter(
  root,
  [
    { path: '/', load: () => import('./pages/exercises.js') },
    { path: '/attempts/:id', load: () => import('./pages/attempt.js') },
  ],
  () => import('./pages/not-found.js'),
);
