// What a request changes in an attempt's live terminal (a marker in its recording, the candidate's countdown, the
// candidate's window closed) reaches the replica that holds that terminal, whichever replica served the request:
// applied here when this replica holds it, otherwise sent over the database's push bus to the one that does.
import type { GradingPosition } from '../grading/queue.js';
import type { Logger } from '../sandbox/notices.js';
import type { Attempt } from '../store/attempts-repo.js';
import type { PushBus } from '../store/push-bus.js';
import type { TerminalRegistry } from './terminals.js';
import type { AttemptView } from './view.js';

export const ATTEMPT_PUSH_CHANNEL = 'opslab_attempt';

/** Labels and close reasons are short texts of the server's; longer ones are cut to this. */
const TEXT_MAX = 300;

export interface AttemptPush {
  attemptId: string;
  /** A marker written into the recording. */
  marker?: string;
  /** The attempt as stored now is sent to its browsers (the countdown follows an extension), with a grading's place. */
  refresh?: boolean;
  grading?: GradingPosition;
  /** The candidate's windows are closed (their token was replaced). */
  closeCandidate?: { code: number; text: string };
}

export interface AttemptPushesDeps {
  bus: PushBus;
  terminals: TerminalRegistry;
  load(attemptId: string): Promise<Attempt | undefined>;
  view(attempt: Attempt): AttemptView;
  log: Logger;
}

/** The push's fields checked (it comes from the database): null when it is not one. */
export function parseAttemptPush(payload: string): AttemptPush | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.attemptId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(o.attemptId)) return null;
  const push: AttemptPush = { attemptId: o.attemptId };
  if (typeof o.marker === 'string') push.marker = o.marker.slice(0, TEXT_MAX);
  if (o.refresh === true) push.refresh = true;
  const g = o.grading as Record<string, unknown> | undefined;
  if (g && g.state === 'running') push.grading = { state: 'running' };
  if (g && g.state === 'queued' && Number.isSafeInteger(g.ahead) && (g.ahead as number) >= 0) push.grading = { state: 'queued', ahead: g.ahead as number };
  const c = o.closeCandidate as Record<string, unknown> | undefined;
  if (c && Number.isInteger(c.code) && (c.code as number) >= 4000 && (c.code as number) < 5000 && typeof c.text === 'string') {
    push.closeCandidate = { code: c.code as number, text: c.text.slice(0, TEXT_MAX) };
  }
  return push;
}

export class AttemptPushes {
  private stopListening: (() => void) | null = null;

  constructor(private readonly deps: AttemptPushesDeps) {}

  /** Starts taking the pushes other replicas send to the terminals this one holds. */
  async start(): Promise<void> {
    this.stopListening ??= await this.deps.bus.listen(ATTEMPT_PUSH_CHANNEL, (payload) => void this.receive(payload));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = null;
  }

  /**
   * Applied here when this replica holds the attempt's terminal; otherwise sent to the replica that does. Never
   * rejects: a push that cannot be made is logged (the database stays the truth).
   */
  async send(push: AttemptPush): Promise<void> {
    try {
      if (this.deps.terminals.get(push.attemptId)) await this.apply(push);
      else await this.deps.bus.publish(ATTEMPT_PUSH_CHANNEL, JSON.stringify(push));
    } catch (err) {
      this.deps.log.warn({ attemptId: push.attemptId, err: (err as Error).message }, 'could not push to the terminal of the attempt');
    }
  }

  private async receive(payload: string): Promise<void> {
    const push = parseAttemptPush(payload);
    if (!push) {
      this.deps.log.warn({ payload: payload.slice(0, 200) }, 'ignored a malformed attempt push');
      return;
    }
    // Every replica hears every push; only the one holding the terminal acts on it.
    if (!this.deps.terminals.get(push.attemptId)) return;
    await this.apply(push).catch((err: Error) => this.deps.log.warn({ attemptId: push.attemptId, err: err.message }, 'could not apply an attempt push'));
  }

  private async apply(push: AttemptPush): Promise<void> {
    const terminal = this.deps.terminals.get(push.attemptId);
    if (!terminal) return;
    if (push.marker) terminal.marker(push.marker);
    if (push.closeCandidate) terminal.closeCandidate(push.closeCandidate.code, push.closeCandidate.text);
    if (push.refresh) {
      const attempt = await this.deps.load(push.attemptId);
      if (attempt) terminal.broadcast({ type: 'attempt', attempt: { ...this.deps.view(attempt), ...(push.grading ? { grading: push.grading } : {}) } });
    }
  }
}
