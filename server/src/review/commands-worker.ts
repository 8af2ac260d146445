// Worker thread entry: reads a recording and parses its command timeline (see CommandTimelines), off the
// server's event loop.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { CommandTimeline } from '../../../contract/review.js';
import { serveOneMessage } from '../off-thread.js';
import { parseCommands } from './commands.js';

if (parentPort) {
  void serveOneMessage<{ file: string }, CommandTimeline>(parentPort, ({ file }) => parseCommands(fs.readFileSync(file, 'utf8')));
}
