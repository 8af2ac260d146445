interface DockerApiError {
  statusCode?: number;
  message?: string;
}

/** The HTTP status of an engine API error (404: no such object, 304: nothing to do, 409: conflict). */
export function statusOf(err: unknown): number | undefined {
  return (err as DockerApiError | null)?.statusCode;
}
