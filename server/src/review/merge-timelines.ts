import type { Command, CommandTimeline } from '../../../contract/review.js';

/**
 * One timeline from the timelines of an attempt's terminals (their recordings share the attempt's clock): the
 * commands in the order they started, each of a further terminal tagged with its number; the source is the one
 * they share, `mixed` when they differ, `none` when no terminal ran a command. Each timeline is already in order,
 * so they are merged in one pass (a timeline of 100 000 commands must not hold the event loop); a single terminal's
 * timeline is returned as it is.
 */
export function mergeTimelines(parts: { terminal: number; timeline: CommandTimeline }[]): CommandTimeline {
  const used = parts.filter((p) => p.timeline.commands.length > 0);
  if (used.length === 0) return { commands: [], source: 'none' };
  if (used.length === 1 && used[0]!.terminal === 1) return used[0]!.timeline;
  const sources = new Set(used.map((p) => p.timeline.source));
  const source = sources.size === 1 ? [...sources][0]! : 'mixed';
  const lists = used.map(({ terminal, timeline }) =>
    terminal === 1 ? timeline.commands : timeline.commands.map((c) => ({ ...c, terminal })),
  );
  const commands: Command[] = [];
  const at = lists.map(() => 0);
  for (;;) {
    // The earliest next command; at equal times the lower terminal first (lists are in terminal order).
    let pick = -1;
    for (let i = 0; i < lists.length; i++) {
      const next = lists[i]![at[i]!];
      if (next && (pick < 0 || next.startedAt < lists[pick]![at[pick]!]!.startedAt)) pick = i;
    }
    if (pick < 0) break;
    commands.push(lists[pick]![at[pick]!++]!);
  }
  return { commands, source };
}
