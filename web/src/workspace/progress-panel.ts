// Under the instructions in the workspace: "Check my progress" runs the exercise's checks on demand and shows
// the last results; "Hints" reveals the exercise's hints one at a time (each one is recorded in the attempt).
// The panel shows a section only when the exercise has it and the attempt allows it.

import type { Exercise } from '../api.js';
import { h } from '../dom.js';
import { Announcer } from '../ui/announcer.js';
import { CheckSection } from './check-section.js';
import { HintSection } from './hint-section.js';
import type { ProgressPanelOptions, SectionOptions } from './progress-section.js';
import type { GradingState } from '../../../contract/attempts.js';

export class ProgressPanel {
  readonly element: HTMLElement;
  private readonly checks: CheckSection;
  private readonly hints: HintSection;
  private readonly announcer: Announcer;
  private exerciseKnown = false;
  private ended = false;

  constructor(options: ProgressPanelOptions) {
    this.announcer = new Announcer(options.scope, 'progress-announcer');
    const sectionOptions: SectionOptions = {
      ...options,
      announce: (text) => this.announcer.say(text),
      onVisibility: () => this.renderVisibility(),
    };
    this.checks = new CheckSection(sectionOptions);
    this.hints = new HintSection(sectionOptions);
    this.element = h(
      'section',
      { class: 'progress-panel', 'aria-label': 'Checks and hints', 'data-testid': 'progress-panel' },
      this.checks.element,
      this.hints.element,
      this.announcer.element,
    );
    this.element.hidden = true;
  }

  /** The exercise arrived: show what it offers (nothing at all when it has neither checks nor hints). */
  setExercise(exercise: Exercise): void {
    this.checks.checks = exercise.checks ?? [];
    this.hints.total = exercise.hintCount ?? 0;
    this.exerciseKnown = true;
    this.checks.show();
    this.hints.show();
    this.renderVisibility();
    this.hints.maybeLoad();
  }

  /**
   * What the attempt allows: "Check my progress" only with `checks`, the hints only with `hints`. A section that
   * is not allowed is not shown at all (and its routes are never called).
   */
  setAllowed(allowed: { checks: boolean; hints: boolean }): void {
    if (allowed.checks === this.checks.allowed && allowed.hints === this.hints.allowed) return;
    this.checks.allowed = allowed.checks;
    this.hints.allowed = allowed.hints;
    if (this.exerciseKnown && !this.ended) this.checks.show();
    this.renderVisibility();
    if (this.exerciseKnown) this.hints.maybeLoad();
  }

  /** Where the attempt's grading stands in the server's queue (shown while a check run waits). */
  setGrading(grading: GradingState | null | undefined): void {
    this.checks.setGrading(grading);
  }

  /** The attempt ended: nothing can be run or revealed any more; what was shown stays readable. */
  setEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.checks.setEnded();
    this.hints.setEnded();
    this.renderVisibility();
  }

  private renderVisibility(): void {
    // After the end, a section stays only when it has something to read.
    this.checks.element.hidden = !this.checks.visible;
    this.hints.element.hidden = !this.hints.visible;
    this.element.hidden = this.checks.element.hidden && this.hints.element.hidden;
  }
}
