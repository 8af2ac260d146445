import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who acts in the current request when it is not a person's session: an API token, as `token:<name>`. The audit
 * log records it next to the user id, so every entry a token causes names the token. Each request runs in its own
 * scope (the app opens one per request); outside a scope there is no actor.
 */
const storage = new AsyncLocalStorage<{ actor: string | null }>();

/** Runs `fn` (and everything it starts) in a fresh scope without an actor. */
export function withActorScope<T>(fn: () => T): T {
  return storage.run({ actor: null }, fn);
}

/** Names the actor of the current scope (no-op outside one). */
export function setActor(actor: string | null): void {
  const store = storage.getStore();
  if (store) store.actor = actor;
}

export function currentActor(): string | null {
  return storage.getStore()?.actor ?? null;
}
