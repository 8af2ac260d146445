// The workspace's instructions: the exercise's title in the header, its difficulty, time limit and markdown in
// the left pane (with a way to try again when they cannot be loaded).

import { api, isAbort, type AttemptView, type Exercise } from '../api.js';
import { h, type Scope } from '../dom.js';
import { errorText } from '../ui/errors.js';
import { cssToken, formatMinutes } from '../ui/format.js';
import { setDocumentTitle, spinner } from '../ui/layout.js';
import { renderMarkdown } from '../ui/markdown.js';

export class Instructions {
  readonly title = h('h1', { class: 'workspace-title', 'data-testid': 'exercise-title' }, 'Loading…');
  readonly element = h('div', {
    class: 'instructions markdown',
    tabindex: 0,
    role: 'region',
    'aria-label': 'Instructions',
    'data-testid': 'instructions',
  });

  constructor(
    private readonly scope: Scope,
    /** The attempt as it is now (an invite's time limit is its own). */
    private readonly attempt: () => AttemptView | null,
    private readonly onExercise: (exercise: Exercise) => void,
  ) {
    this.element.append(h('p', { class: 'muted' }, spinner(), 'Loading instructions…'));
  }

  /** From the attempt's own route: interview exercises are not in the public catalog. */
  async load(attempt: Pick<AttemptView, 'id' | 'exerciseId'>): Promise<void> {
    const { exerciseId } = attempt;
    let exercise: Exercise;
    try {
      exercise = await api.getAttemptExercise(attempt.id, this.scope.signal);
    } catch (err) {
      if (isAbort(err) || this.scope.disposed) return;
      this.title.textContent = exerciseId;
      const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
      retry.addEventListener('click', () => void this.load(attempt), { signal: this.scope.signal });
      this.element.replaceChildren(
        h('p', { class: 'message message-error' }, errorText(err, 'The instructions could not be loaded.')),
        retry,
      );
      return;
    }
    if (this.scope.disposed) return;
    this.title.textContent = exercise.title;
    setDocumentTitle(exercise.title);
    this.element.replaceChildren(
      h(
        'p',
        { class: 'instructions-meta' },
        h('span', { class: `badge badge-${cssToken(exercise.difficulty)}` }, exercise.difficulty),
        h('span', {}, this.timeLimitText(exercise)),
      ),
      h('article', { class: 'markdown-body' }, renderMarkdown(exercise.instructions)),
    );
    this.onExercise(exercise);
  }

  focus(): void {
    this.element.focus();
  }

  /** An invite sets its own time limit: the attempt's start and deadline say what it is. */
  private timeLimitText(exercise: Exercise): string {
    const attempt = this.attempt();
    if (attempt?.mode === 'interview' && attempt.startedAt && attempt.deadline) {
      const ms = Date.parse(attempt.deadline) - Date.parse(attempt.startedAt);
      if (Number.isFinite(ms) && ms > 0) return formatMinutes(Math.round(ms / 60_000));
    }
    return formatMinutes(exercise.timeLimitMinutes);
  }
}
