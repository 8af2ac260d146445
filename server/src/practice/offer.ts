import { ConfigError, type PracticeExercises } from '../config.js';
import type { ExerciseCatalog } from '../exercises/catalog.js';

/**
 * The ids of the exercises practice offers, from the operator's OPSLAB_PRACTICE_EXERCISES: `declared` (those whose
 * exercise.yaml lists `practice` in its `modes`), `all`, or exactly the exercises listed. Practice shows every check
 * message, the hints and the reference solution, so what it does not offer must stay unknown to trainees.
 * Throws a ConfigError naming the variable when the list names an exercise the catalog does not hold (a typo would
 * otherwise leave practice silently smaller than the operator meant).
 */
export function practiceOffer(setting: PracticeExercises, catalog: Pick<ExerciseCatalog, 'list' | 'get'>): Set<string> {
  const all = catalog.list();
  if (setting === 'all') return new Set(all.map((e) => e.id));
  if (setting === 'declared') return new Set(all.filter((e) => e.modes.includes('practice')).map((e) => e.id));
  const unknown = setting.filter((id) => !catalog.get(id));
  if (unknown.length > 0) {
    throw new ConfigError(
      'OPSLAB_PRACTICE_EXERCISES',
      setting.join(','),
      `ids of exercises in the catalog (${all.map((e) => e.id).join(', ') || 'none loaded'}); ` +
        `${unknown.map((id) => `"${id}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not one`,
    );
  }
  return new Set(setting);
}

