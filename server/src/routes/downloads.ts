import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { AttemptService } from '../attempts/attempt-service.js';
import { errors } from '../errors.js';
import type { Attempt } from '../store/attempts-repo.js';

/** Download headers: a file name, and kept out of caches (downloads hold the candidate's data). */
export function download(reply: FastifyReply, type: string, name: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${name}"`)
    .header('cache-control', 'no-store');
}

/** An attempt's asciicast recording as a download, with everything buffered so far flushed first. */
export function sendRecording(reply: FastifyReply, attempts: AttemptService, attempt: Attempt): FastifyReply {
  attempts.flushRecording(attempt.id);
  const file = attempts.recordingFile(attempt);
  if (!fs.existsSync(file)) throw errors.recordingMissing();
  return download(reply, 'application/x-asciicast', `${attempt.id}.cast`).send(fs.createReadStream(file));
}
