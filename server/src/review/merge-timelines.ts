import type { Command, CommandTimeline } from '../../../contract/review.js';

/**
 * One timeline from the timelines of an attempt's terminals (their recordings share the attempt's clock): the
 * commands in the order they started, each of a further terminal tagged with its number; the source is the one
 * they share, `mixed` when they differ, `none` when no terminal ran a command.
 */
export function mergeTimelines(parts: { terminal: number; timeline: CommandTimeline }[]): CommandTimeline {
  const commands: Command[] = [];
  const sources = new Set<CommandTimeline['source']>();
  for (const { terminal, timeline } of parts) {
    if (timeline.source !== 'none') sources.add(timeline.source);
    for (const command of timeline.commands) commands.push(terminal === 1 ? command : { ...command, terminal });
  }
  // A stable sort: commands of one terminal keep their order, terminal 1 first at equal times.
  commands.sort((a, b) => a.startedAt - b.startedAt);
  const source = sources.size === 0 ? 'none' : sources.size === 1 ? [...sources][0]! : 'mixed';
  return { commands, source };
}
