// An exercise written to a temporary directory by a test: checks as inline scripts, no catalog round trip.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exercise } from '../../server/src/exercises/catalog.js';

export interface AdhocCheck {
  script: string;
  timeoutSeconds?: number;
  points?: number;
  advisory?: boolean;
}

/**
 * An Exercise whose checks/ (and hidden/) live in a fresh temporary directory. Only what grading reads is filled
 * in; `remove()` deletes the directory.
 */
export function adhocExercise(opts: {
  id: string;
  checks: Record<string, AdhocCheck>;
  hidden?: Record<string, string>;
  collect?: string[];
  probe?: boolean;
  image?: string;
}): Exercise & { remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `opslab-${opts.id}-`));
  fs.mkdirSync(path.join(dir, 'checks'));
  fs.mkdirSync(path.join(dir, 'hidden'));
  for (const [id, check] of Object.entries(opts.checks)) {
    fs.writeFileSync(path.join(dir, 'checks', id), check.script, { mode: 0o755 });
  }
  for (const [name, content] of Object.entries(opts.hidden ?? {})) fs.writeFileSync(path.join(dir, 'hidden', name), content);
  return {
    id: opts.id,
    title: opts.id,
    summary: opts.id,
    difficulty: 'easy',
    timeLimitMinutes: 10,
    image: opts.image ?? 'base',
    skills: [],
    modes: ['interview', 'practice'],
    limits: {},
    workspace: '/root/work',
    hints: [],
    variants: [],
    checks: Object.entries(opts.checks).map(([id, c]) => ({
      id,
      title: id,
      points: c.points ?? 1,
      visible: true,
      timeoutSeconds: c.timeoutSeconds ?? 20,
      initially: 'any' as const,
      advisory: c.advisory ?? false,
    })),
    collect: opts.collect ?? ['/root/work'],
    probe: opts.probe ?? false,
    cleanroom: [],
    wrong: [],
    alternatives: [],
    version: 'adhoc',
    hasSetup: false,
    instructions: opts.id,
    dir,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
