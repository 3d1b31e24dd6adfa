import { isAppError } from '@heartguard/kit';
import type { AuthDeps } from './deps.js';

export type Introspection =
  | { active: false }
  | { active: true; sub: string; role: string; org_id: string | null; exp: number; iat: number; jti: string; iss: string; token_type: 'access' };

/** RFC 7662-style answer: anything not a live, unrevoked access token is simply inactive. */
export async function introspectToken(deps: AuthDeps, token: string): Promise<Introspection> {
  try {
    const claims = await deps.platform.verifier.verify(token, 'access');
    if (await deps.platform.revocations.isRevoked(claims.jti)) return { active: false };
    return {
      active: true,
      sub: claims.sub,
      role: claims.role,
      org_id: claims.org_id,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      iss: claims.iss,
      token_type: 'access',
    };
  } catch (err) {
    if (isAppError(err)) return { active: false };
    throw err;
  }
}
