import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';
import { parseTerminalId } from '../../../contract/terminal.js';
import { terminalRecordingFile } from '../terminal/terminal-files.js';

/** Download headers: a file name, and kept out of caches (downloads hold the candidate's data). */
export function download(reply: FastifyReply, type: string, name: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${name}"`)
    .header('cache-control', 'no-store');
}

/**
 * An attempt's asciicast recording as a download, with everything buffered so far flushed first: terminal 1's, or
 * the one `?terminal=N` names (each terminal has its own recording).
 */
export function sendRecording(reply: FastifyReply, attempts: AttemptService, attempt: Attempt, query?: unknown): FastifyReply {
  const n = parseTerminalId((query as Record<string, unknown> | undefined)?.terminal);
  if (typeof n !== 'number') throw errors.badRequest(n.error);
  attempts.flushRecording(attempt.id);
  const file = terminalRecordingFile(attempts.recordingFile(attempt), n);
  if (!fs.existsSync(file)) throw errors.recordingMissing();
  const name = n === 1 ? `${attempt.id}.cast` : `${attempt.id}.t${n}.cast`;
  return download(reply, 'application/x-asciicast', name).send(fs.createReadStream(file));
}
