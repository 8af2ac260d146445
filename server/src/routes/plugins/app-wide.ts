import type { FastifyPluginAsync } from 'fastify';

/**
 * Marks a plugin as app-wide: its hooks, handlers and decorations apply to the whole app instead of staying
 * encapsulated in the plugin (what fastify-plugin does, by the same documented symbol).
 */
export function appWide<Options extends object>(plugin: FastifyPluginAsync<Options>): FastifyPluginAsync<Options> {
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
