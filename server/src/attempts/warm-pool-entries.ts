import type { VariantParams } from '../exercises/variants.js';
import type { TerminalSession } from '../terminal/terminal-session.js';

/**
 * queued: counted against the capacity, no container yet. preparing: created, started, being set up. ready: set up,
 * waiting for an attempt. claimed: taken by an attempt that is being started (the attempt counts it now).
 * leaving: being removed.
 */
export type EntryState = 'queued' | 'preparing' | 'ready' | 'claimed' | 'leaving';

/** One sandbox of the warm pool, from the moment it is queued until it is claimed or removed. */
export interface Entry {
  slot: string;
  exerciseId: string;
  state: EntryState;
  seed: string;
  params: VariantParams;
  sandboxId: string | null;
  session: TerminalSession | null;
  stopDraining: (() => void) | null;
  snapshot: Buffer | null;
  readyAt: number | null;
}

/** A pooled sandbox handed to an attempt by `take()`. */
export interface PooledSandbox {
  readonly slot: string;
  readonly exerciseId: string;
  readonly sandboxId: string;
  /** The variant drawn for this sandbox; it becomes the claiming attempt's. */
  readonly seed: string;
  readonly params: VariantParams;
  /** The initial snapshot, taken after setup; it becomes the claiming attempt's. */
  readonly snapshot: Buffer;
  readonly readyAt: number;
}

export interface WarmPoolStatus {
  exerciseId: string;
  target: number;
  ready: number;
  preparing: number;
  dormant: boolean;
}

/** Whether the entry holds a place against the capacity (claimed ones are their attempt's, leaving ones go). */
export const counted = (e: Entry) => e.state === 'queued' || e.state === 'preparing' || e.state === 'ready';

export function toPooled(e: Entry): PooledSandbox {
  return {
    slot: e.slot,
    exerciseId: e.exerciseId,
    sandboxId: e.sandboxId!,
    seed: e.seed,
    params: e.params,
    snapshot: e.snapshot!,
    readyAt: e.readyAt!,
  };
}

/**
 * The entry to give up when the machine is full: a queued one if any, else the oldest ready one of the exercise
 * with the most, else one being prepared; null when the pool holds none.
 */
export function evictionVictim(entries: Iterable<Entry>): Entry | null {
  const candidates = [...entries].filter(counted);
  if (candidates.length === 0) return null;
  let victim = candidates.find((e) => e.state === 'queued');
  if (!victim) {
    const ready = candidates.filter((e) => e.state === 'ready');
    if (ready.length > 0) {
      const per = new Map<string, number>();
      for (const e of ready) per.set(e.exerciseId, (per.get(e.exerciseId) ?? 0) + 1);
      ready.sort((a, b) => per.get(b.exerciseId)! - per.get(a.exerciseId)! || a.readyAt! - b.readyAt!);
      victim = ready[0];
    }
  }
  return victim ?? candidates[0]!;
}

/** A pool slot's name: the replica whose pool it is, a dot, then random hex (the container's name carries it). */
export const newSlot = (replica: string, random: string): string => `${replica}.${random}`;

/** The replica whose pool made the slot; null for a slot named before pools had owners. */
export function slotReplica(slot: string): string | null {
  const dot = slot.indexOf('.');
  return dot > 0 ? slot.slice(0, dot) : null;
}
