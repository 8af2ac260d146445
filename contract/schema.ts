// Small TypeBox building blocks shared by the request schemas. A schema here is both the JSON Schema the server
// validates with (Ajv: unknown fields refused, no coercion) and, through Static<>, the TypeScript type of the
// request on both sides.

import { Type, type Static, type TOptional, type TSchema, type TUnsafe } from '@sinclair/typebox';

export { Type, type Static, type TOptional, type TSchema };

/** A string from a fixed list, as a plain `{type: 'string', enum: [...]}` schema. */
export function stringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

/** A string matching a pattern. */
export const patterned = (pattern: string) => Type.String({ pattern });

/** `{id}` path parameters, the id matching `pattern`. */
export const idParams = (pattern: string) => Type.Object({ id: patterned(pattern) }, { additionalProperties: false });
export type IdParams = Static<ReturnType<typeof idParams>>;

/**
 * A whole number sent in a query string. Query values stay strings (the server does not coerce): the pattern
 * bounds the digits, the route checks the range.
 */
export const intString = Type.String({ pattern: '^[0-9]{1,6}$' });

/** Ids as they appear in paths and bodies. */
export const ID_PATTERNS = {
  attempt: '^a_[0-9a-f]{20}$',
  invite: '^i_[0-9a-f]{20}$',
  exercise: '^[a-z0-9][a-z0-9-]{1,62}$',
  /** A staff account's id in a path. */
  user: '^u_[0-9a-f]{20}$',
  /** A staff account's id as a list filter (looser: an unknown id simply matches nothing). */
  userFilter: '^u_[A-Za-z0-9_-]{1,64}$',
} as const;

/** A person's name: something visible, and no control characters (NUL, escapes, line breaks). */
export const NAME_PATTERN = '^(?=[^]*\\S)[^\\u0000-\\u001f\\u007f]+$';

export interface PersonRef {
  id: string;
  name: string;
}

/** Every error answer: `{"error": {"code": "OPSLAB_ERR_…", "message": "…"}}`. */
export interface ErrorBody {
  error: { code: string; message: string };
}
