// The engine's event stream, watched for as long as the caller wants, across engine restarts.
import type Docker from 'dockerode';

export interface EngineEvent {
  Action?: string;
  Actor?: { ID?: string };
}

/**
 * Calls `listener` with each event that matches `filters` (the engine's own event filters); returns the function
 * that stops watching. When the engine restarts or the connection drops, it watches again a little later.
 */
export function watchEvents(
  docker: Docker,
  filters: Record<string, string[]>,
  listener: (event: EngineEvent) => void,
): () => void {
  let stopped = false;
  let stream: NodeJS.ReadableStream | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    if (stopped) return;
    try {
      stream = await docker.getEvents({ filters });
    } catch {
      return again();
    }
    if (stopped) return (stream as unknown as { destroy(): void }).destroy();
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        try {
          listener(JSON.parse(line) as EngineEvent);
        } catch {
          /* not an event (or the listener failed on it): the watch goes on */
        }
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', again);
    stream.on('end', again);
  };
  // The engine restarted or the connection dropped: watch again a little later.
  const again = () => {
    if (stopped || retry) return;
    stream = null;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, 2000);
    retry.unref();
  };
  void connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    (stream as unknown as { destroy?(): void } | null)?.destroy?.();
  };
}
