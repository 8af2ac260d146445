import { createHmac, randomBytes } from 'node:crypto';
import type { VariantSpec } from './catalog.js';

export type VariantParams = Record<string, string>;

/** A new random seed for an attempt (stored with it). */
export const newSeed = (): string => randomBytes(16).toString('hex');

/** `OPSLAB_VAR_<NAME>`: the parameter's name upper-cased, dashes as underscores. */
export const variantVar = (name: string): string => `OPSLAB_VAR_${name.toUpperCase().replace(/-/g, '_')}`;

/**
 * The parameters a seed gives: each takes choices[i] with i from an HMAC of the seed and the parameter's name,
 * so the same seed always gives the same faults, and parameters are independent of each other.
 */
export function drawVariant(variants: readonly VariantSpec[], seed: string): VariantParams {
  const params: VariantParams = {};
  for (const v of variants) {
    const digest = createHmac('sha256', seed).update(v.name).digest();
    params[v.name] = v.choices[digest.readUInt32BE(0) % v.choices.length]!;
  }
  return params;
}

/** The environment every exercise script gets: the variant variables and the seed. */
export function variantEnv(params: VariantParams, seed: string): Record<string, string> {
  const env: Record<string, string> = { OPSLAB_SEED: seed };
  for (const [name, value] of Object.entries(params)) env[variantVar(name)] = value;
  return env;
}
