// What the invite page says about the exercise before anything starts: the exercise (or, on the operator's minimal
// landing, only its time limit), how the clock works, the rules and what is recorded.

import { SKILL_TITLES } from '../practice/api.js';
import { h } from '../dom.js';
import { cssToken } from '../ui/format.js';
import type { CandidateInvite } from './invite-api.js';
import { formatSeconds } from './layout.js';

export function inviteDetails(invite: CandidateInvite): { exercise: HTMLElement; clock: HTMLElement; rules: HTMLElement; recorded: HTMLElement } {
  const timeLimit = h('div', {}, h('dt', {}, 'Time limit'), h('dd', { 'data-testid': 'invite-time-limit' }, formatSeconds(invite.timeLimitSeconds)));
  // Without the exercise (the operator's minimal landing), the time limit only: the workspace names the exercise.
  const exercise = invite.exercise
    ? h(
        'article',
        { class: 'candidate-exercise', 'aria-labelledby': 'invite-exercise-title', 'data-testid': 'invite-exercise' },
        h('h2', { id: 'invite-exercise-title', class: 'candidate-exercise-title' }, invite.exercise.title),
        h('p', { class: 'candidate-exercise-summary' }, invite.exercise.summary),
        h(
          'dl',
          { class: 'meta candidate-meta' },
          timeLimit,
          h('div', {}, h('dt', {}, 'Difficulty'), h('dd', {}, h('span', { class: `badge badge-${cssToken(String(invite.exercise.difficulty))}` }, String(invite.exercise.difficulty)))),
          invite.exercise.skills.length > 0
            ? h('div', {}, h('dt', {}, 'Skills'), h('dd', {}, invite.exercise.skills.map((id) => SKILL_TITLES[id] ?? id).join(', ')))
            : null,
        ),
      )
    : h(
        'article',
        { class: 'candidate-exercise', 'aria-labelledby': 'invite-exercise-title', 'data-testid': 'invite-exercise', 'data-landing': 'minimal' },
        h('h2', { id: 'invite-exercise-title', class: 'candidate-exercise-title' }, 'Your exercise'),
        h('p', { class: 'candidate-exercise-summary' }, 'The instructions are shown when you press Start.'),
        h('dl', { class: 'meta candidate-meta' }, timeLimit),
      );

  const clock = h(
    'section',
    { class: 'candidate-section', 'aria-labelledby': 'invite-clock-title', 'data-testid': 'invite-clock' },
    h('h2', { id: 'invite-clock-title' }, 'About the clock'),
    h(
      'ul',
      { class: 'candidate-list' },
      h('li', {}, `You have ${formatSeconds(invite.timeLimitSeconds)}. The clock starts when you press Start.`),
      h('li', {}, 'The clock runs on our server: it does not stop when you close this tab or lose your connection.'),
      h('li', {}, 'To come back, open this link again in this browser: you continue in the same shell, with your files as you left them.'),
      h(
        'li',
        {},
        invite.showFeedback
          ? 'While you work you can run “Check my progress” to see which checks pass.'
          : 'There is no progress check during this exercise: work as you would on the job.',
      ),
    ),
  );

  const list = (id: string, title: string, items: string[], testid: string): HTMLElement =>
    h(
      'section',
      { class: 'candidate-section', 'aria-labelledby': id, 'data-testid': testid },
      h('h2', { id }, title),
      items.length > 0
        ? h('ul', { class: 'candidate-list' }, ...items.map((item) => h('li', {}, item)))
        : h('p', { class: 'muted' }, 'Nothing to add.'),
    );
  return {
    exercise,
    clock,
    rules: list('invite-rules-title', 'Rules', invite.rules ?? [], 'invite-rules'),
    recorded: list('invite-recorded-title', 'What is recorded', invite.recorded ?? [], 'invite-recorded'),
  };
}
