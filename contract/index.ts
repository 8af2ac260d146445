// The wire contract between the server and the web UI: the shapes of docs/api.md, the request schemas both
// sides compile against, and the few computations both sides must agree on. Pure TypeScript: no Node, no DOM.

export * from './schema.js';
export * from './attempts.js';
export * from './auth.js';
export * from './diff.js';
export * from './invites.js';
export * from './practice.js';
export * from './review.js';
export * from './scorecard.js';
export * from './terminal.js';
export * from './errors.js';
export * from './grade.js';
export * from './api-tokens.js';
export * from './webhooks.js';
export * from './files.js';
export * from './signals.js';
