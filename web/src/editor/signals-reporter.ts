// Reports what reviewers of a timed assessment see as facts (the candidate is told on the invite's page and in the
// workspace's Keyboard panel): pastes of SIGNAL_LIMITS.pasteMinChars characters or more into the terminal or the
// editor (their size only, never their text), and the page hidden or out of focus, then back. The server times
// them; idle stretches it computes on its own from the recording.

import type { Scope } from '../dom.js';
import { SIGNAL_LIMITS, type PasteTarget } from '../../../contract/signals.js';
import { filesApi } from './files-api.js';

export interface SignalReporterOptions {
  attemptId: string;
  scope: Scope;
}

/** Where a paste landed: the editor panel, the terminal, or neither (a form field: not reported). */
function pasteTarget(target: EventTarget | null): PasteTarget | null {
  if (!(target instanceof Element)) return null;
  if (target.closest('.editor-pane')) return 'editor';
  if (target.closest('.xterm')) return 'terminal';
  return null;
}

/** Starts reporting; `stop()` ends it (the attempt ended). */
export function startSignalReporter(options: SignalReporterOptions): { stop(): void } {
  const { attemptId, scope } = options;
  let stopped = false;
  let away = false;
  const report = (body: Parameters<typeof filesApi.report>[1]) => {
    if (!stopped) filesApi.report(attemptId, body);
  };
  // Seen on the way down, before the terminal or the editor takes the paste.
  document.addEventListener(
    'paste',
    (event) => {
      const target = pasteTarget(event.target);
      const text = event.clipboardData?.getData('text/plain') ?? '';
      if (!target || text.length < SIGNAL_LIMITS.pasteMinChars) return;
      report({ kind: 'paste', target, chars: Math.min(text.length, SIGNAL_LIMITS.pasteMaxChars) });
    },
    { capture: true, signal: scope.signal },
  );
  const goAway = (cause: 'hidden' | 'blur') => {
    if (away) return;
    away = true;
    report({ kind: 'away', cause });
  };
  const comeBack = () => {
    if (!away || document.visibilityState === 'hidden' || !document.hasFocus()) return;
    away = false;
    report({ kind: 'back' });
  };
  scope.listen(document, 'visibilitychange', () => (document.visibilityState === 'hidden' ? goAway('hidden') : comeBack()));
  scope.listen(window, 'blur', () => goAway('blur'));
  scope.listen(window, 'focus', () => comeBack());
  return {
    stop() {
      if (away) report({ kind: 'back' });
      stopped = true;
    },
  };
}
