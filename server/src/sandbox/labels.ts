/** Labels put on every container and volume opslab creates; the reconciler finds its own by them. */
export const LABELS = {
  managed: 'opslab.managed',
  instance: 'opslab.instance',
  attempt: 'opslab.attempt',
  exercise: 'opslab.exercise',
  role: 'opslab.role',
  /** A warm-pool sandbox's pool slot (instead of an attempt label: the attempt that claims it is found by its id). */
  pool: 'opslab.pool',
} as const;

export const ROLES = { sandbox: 'sandbox', grader: 'grader' } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];
