import { currentContext, ROLES, type Role } from '@heartguard/kit';
import { UserErrors } from './user-errors.js';

/** Identity data owned by auth (GET /auth/internal/users/:id). */
export interface Identity {
  id: string;
  email: string;
  full_name: string | null;
  role: Role;
  org_id: string;
  created_at: string;
}

export interface IdentityClient {
  /** The user's identity, undefined if auth does not know the id; throws USER_503 if auth cannot answer. */
  findUser(id: string): Promise<Identity | undefined>;
  /** Resolves when auth answers its health check; for readiness only. */
  checkReachable(): Promise<void>;
}

export interface HttpIdentityClientOptions {
  authUrl: string;
  serviceToken: () => string;
  timeoutMs: number;
  onLookup?: (outcome: 'found' | 'not_found' | 'unavailable') => void;
}

function parseIdentity(body: unknown): Identity | undefined {
  const b = body as Partial<Record<keyof Identity, unknown>> | null;
  if (
    !b ||
    typeof b.id !== 'string' ||
    typeof b.email !== 'string' ||
    typeof b.org_id !== 'string' ||
    typeof b.created_at !== 'string' ||
    !ROLES.includes(b.role as Role) ||
    (b.full_name !== undefined && b.full_name !== null && typeof b.full_name !== 'string')
  ) {
    return undefined;
  }
  return {
    id: b.id,
    email: b.email,
    full_name: (b.full_name as string | null | undefined) ?? null,
    role: b.role as Role,
    org_id: b.org_id,
    created_at: b.created_at,
  };
}

/** Calls auth over HTTP with a service token; any failure to get an answer becomes USER_503. */
export function createHttpIdentityClient({ authUrl, serviceToken, timeoutMs, onLookup }: HttpIdentityClientOptions): IdentityClient {
  // The cause reaches the log through the error renderer; the client only sees USER_503.
  function unavailable(cause: string): never {
    onLookup?.('unavailable');
    throw UserErrors.identityUnavailable(undefined, { cause: new Error(`identity lookup failed: ${cause}`) });
  }

  return {
    async findUser(id) {
      const requestId = currentContext()?.requestId;
      let res: Response;
      try {
        res = await fetch(`${authUrl}/auth/internal/users/${encodeURIComponent(id)}`, {
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${serviceToken()}`,
            ...(requestId ? { 'x-request-id': requestId } : {}),
          },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return unavailable(err instanceof Error ? err.message : String(err));
      }
      if (res.status === 404) {
        await res.body?.cancel();
        onLookup?.('not_found');
        return undefined;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        // 401/403 here means our service token is not accepted: a deployment fault, not the caller's.
        return unavailable(`auth answered ${res.status}`);
      }
      let identity: Identity | undefined;
      try {
        identity = parseIdentity(await res.json());
      } catch {
        identity = undefined;
      }
      if (!identity) return unavailable('auth answered an unexpected identity shape');
      onLookup?.('found');
      return identity;
    },

    async checkReachable() {
      const res = await fetch(`${authUrl}/auth/health`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(Math.min(timeoutMs, 1000)) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`auth health answered ${res.status}`);
    },
  };
}
