import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../store/db.js';
import { errors } from '../errors.js';
import type { Auth, AuditEntry, Role } from './index.js';

/** Accounts, sessions, CSRF and the audit log. (Being built: refuses every staff request for now.) */
export class AuthService implements Auth {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  guard(_roles: readonly Role[]): (request: FastifyRequest) => Promise<void> {
    return async () => {
      throw errors.unauthorized('Sign in first.');
    };
  }

  audit(_entry: AuditEntry): void {}

  userName(_id: string): string | null {
    return null;
  }

  /** The one-time link that creates the first admin, when there is no account yet (printed by `serve`). */
  setupLink(): string | null {
    void this.db;
    void this.config;
    return null;
  }
}
