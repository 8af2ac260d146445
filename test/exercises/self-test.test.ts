import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.js';
import { ExerciseCatalog, formatProblem } from '../../server/src/exercises/catalog.js';
import { selfTest } from '../../server/src/grading/self-test.js';
import { repoRoot } from '../../server/src/paths.js';
import { DockerDriver } from '../../server/src/sandbox/drivers/docker/docker-driver.js';
import { requireDocker, testLabels, TEST_RUN } from '../helpers/docker.js';

const exercisesDir = path.join(repoRoot(), 'exercises');
const catalog = ExerciseCatalog.load(exercisesDir, {
  imageExists: (image) => fs.existsSync(path.join(repoRoot(), 'sandboxes', image, 'Dockerfile')),
});
const graded = catalog.list().filter((e) => e.checks.length > 0);

/**
 * CI runs every shipped exercise's self-test (docs/exercise-format.md): for two seeds, the untouched sandbox,
 * the reference answer, every other correct answer and every near miss, on the real engine with the real grader.
 * On the first seed each state is graded twice (a verdict that changes between two gradings fails the test); on
 * the second, once: CI's time goes to the second seed's variant rather than to a fourth grading of each state
 * (`npm run exercise -- test` grades every seed's states twice).
 */
describe('exercise self-tests (real engine)', () => {
  it('every shipped exercise is valid', () => {
    expect(catalog.problems.map(formatProblem)).toEqual([]);
    expect(graded.map((e) => e.id).sort()).toEqual(['artifact-retention', 'ci-triage', 'container-hardening', 'git-collab', 'latency-slo', 'service-down', 'terraform-review']);
  });

  it.each(graded.map((e) => [e.id, e] as const))(
    '%s passes its self-test for two seeds',
    async (_id, exercise) => {
      await requireDocker();
      const policy = loadConfig().sandbox;
      const driver = new DockerDriver({ instance: `selftest-${TEST_RUN}`.slice(0, 40), policy, extraLabels: testLabels() });
      const report = await selfTest(exercise, { driver, policy, seeds: 2, gradedTwice: 1, parallel: 2, labels: testLabels() });
      const gradings = report.runs.flatMap((r) => r.gradings.map((g) => g.durationMs)).sort((a, b) => a - b);
      const median = gradings[Math.floor(gradings.length / 2)] ?? 0;
      console.log(
        `[figure] ${exercise.id}: ${report.runs.length} states over 2 seeds, ${gradings.length} gradings, ` +
          `full grading median ${median} ms (min ${gradings[0]} ms, max ${gradings.at(-1)} ms); self-test ${Math.round(report.durationMs / 1000)} s`,
      );
      // The first problem leads the failure's message: it is what the closing lines of `npm test` show.
      expect(report.problems, report.problems.join('\n')).toEqual([]);
      expect(report.ok).toBe(true);
      // Twice on the first seed, once on the second.
      expect(report.runs.map((r) => r.gradings.length).sort()).toEqual([
        ...Array<number>(report.runs.length / 2).fill(1),
        ...Array<number>(report.runs.length / 2).fill(2),
      ]);
    },
    40 * 60_000,
  );
});
