// The last AttemptView this tab saw of an attempt that ended. A withdrawn invite's token stops working at
// once, so the done page may not be able to ask the server any more; it then still knows how the attempt
// ended. Only the view is kept (no token).

import type { AttemptView } from '../api.js';

const KEY = (attemptId: string): string => `opslab.ended.${attemptId}`;

export function rememberEndedView(attempt: AttemptView): void {
  try {
    sessionStorage.setItem(KEY(attempt.id), JSON.stringify(attempt));
  } catch {
    // Storage may be disabled; the done page then says less.
  }
}

export function recallEndedView(attemptId: string): AttemptView | null {
  try {
    const view = JSON.parse(sessionStorage.getItem(KEY(attemptId)) ?? 'null') as AttemptView | null;
    if (view === null || typeof view !== 'object' || view.id !== attemptId || typeof view.state !== 'string') return null;
    return view;
  } catch {
    return null;
  }
}
