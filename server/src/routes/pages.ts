import type { CommandPageQuery } from '../../../contract/index.js';

/** A page of the command timeline from its query (digit strings, validated by the route's schema). */
export const pageOf = (q: CommandPageQuery): { offset?: number; limit?: number } => ({
  ...(q.offset !== undefined ? { offset: Number(q.offset) } : {}),
  ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
});
