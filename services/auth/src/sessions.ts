import { randomUUID } from 'node:crypto';
import type { TokenClaims } from '@heartguard/kit';
import type { AuthDeps } from './deps.js';
import { AuthErrors } from './errors.js';
import { verifyPassword } from './password-hashing.js';
import type { UserRecord } from './repository.js';
import { hashRefreshToken, newRefreshToken } from './token-issuer.js';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
}

async function issuePair(deps: AuthDeps, user: UserRecord, familyId: string, q = deps.repo.db.manager): Promise<TokenPair> {
  const refresh = newRefreshToken();
  await deps.repo.insertRefreshToken(q, {
    id: randomUUID(),
    familyId,
    userId: user.id,
    hash: refresh.hash,
    expiresAt: new Date(Date.now() + deps.config.refreshTtlSeconds * 1000),
  });
  const access = deps.issuer.issueAccessToken(user, familyId);
  deps.metrics.tokensIssued.inc({ type: 'access' });
  deps.metrics.tokensIssued.inc({ type: 'refresh' });
  return { access_token: access.token, refresh_token: refresh.token, expires_in: access.expiresIn, token_type: 'Bearer' };
}

export async function openSession(deps: AuthDeps, input: { email: string; password: string }, clientIp: string): Promise<TokenPair> {
  const email = input.email.trim().toLowerCase();
  await deps.guard.assertNotLocked(email, clientIp);
  const user = await deps.repo.findUserByEmail(email);
  const valid = await verifyPassword(user?.passwordHash, input.password);
  if (!user || !valid) {
    await deps.guard.recordFailure(email, clientIp);
    deps.metrics.logins.inc({ outcome: 'failure' });
    deps.metrics.loginFailures.inc({ reason: user ? 'bad_password' : 'unknown_account' });
    deps.platform.audit.emit({ action: 'auth.login_failed', actor: email, outcome: 'failure', org_id: user?.orgId ?? null, payload: { ip: clientIp } });
    throw AuthErrors.invalidCredentials();
  }
  await deps.guard.recordSuccess(email, clientIp);
  const pair = await issuePair(deps, user, randomUUID());
  deps.metrics.logins.inc({ outcome: 'success' });
  deps.platform.audit.emit({ action: 'auth.login', actor: user.id, outcome: 'success', org_id: user.orgId, payload: { ip: clientIp } });
  return pair;
}

/**
 * Rotation per the OAuth 2.0 Security BCP: every refresh token works once. Presenting one that
 * was already rotated means it leaked, so its whole family is revoked.
 */
export async function rotateRefreshToken(deps: AuthDeps, refreshToken: string): Promise<TokenPair> {
  const hash = hashRefreshToken(refreshToken);
  const pair = await deps.repo.db.transaction(async (tx) => {
    const claimed = await deps.repo.claimRefreshToken(tx, hash);
    if (!claimed) return undefined;
    const user = await deps.repo.findUserById(claimed.userId);
    if (!user) throw AuthErrors.invalidRefresh();
    const issued = await issuePair(deps, user, claimed.familyId, tx);
    deps.platform.audit.emit({ action: 'auth.token_refreshed', actor: user.id, outcome: 'success', org_id: user.orgId });
    return issued;
  });
  if (pair) return pair;
  // Outside the transaction: a failed claim can leave the row locked by our own transaction
  // until it ends, and the family revocation must commit even though we answer 401.
  const known = await deps.repo.findRefreshToken(hash);
  if (known && known.rotatedAt && !known.revokedAt) {
    await deps.repo.revokeFamily(known.familyId, 'reuse_detected');
    deps.metrics.refreshReuse.inc();
    deps.platform.audit.emit({ action: 'auth.refresh_reuse', actor: known.userId, outcome: 'denied', payload: { family_id: known.familyId } });
  }
  throw AuthErrors.invalidRefresh();
}

/** Revokes the presented access token (Redis with TTL + durable row) and its refresh family. */
export async function closeSession(deps: AuthDeps, claims: TokenClaims & { sid?: string }): Promise<void> {
  const remaining = Math.max(1, claims.exp - Math.floor(Date.now() / 1000));
  await deps.repo.recordRevokedAccessToken({ jti: claims.jti, userId: claims.sub, expiresAt: new Date(claims.exp * 1000), reason: 'logout' });
  await deps.platform.revocations.revoke(claims.jti, remaining);
  if (typeof claims.sid === 'string') await deps.repo.revokeFamily(claims.sid, 'logout');
  deps.platform.audit.emit({ action: 'auth.logout', actor: claims.sub, outcome: 'success', org_id: claims.org_id });
}

/** Redis keeps nothing on disk here; the durable table re-seeds live revocations at boot. */
export async function restoreRevocations(deps: Pick<AuthDeps, 'repo' | 'platform'>): Promise<number> {
  const live = await deps.repo.listLiveRevocations();
  const now = Date.now();
  for (const entry of live) {
    await deps.platform.revocations.revoke(entry.jti, Math.max(1, (entry.expiresAt.getTime() - now) / 1000));
  }
  return live.length;
}
