import {
  AppError,
  bearerToken,
  createTokenVerifier,
  Errors,
  SERVICE_AUDIENCE,
  SERVICE_ISSUER,
  type TokenClaims,
  type TokenVerifier,
} from '@heartguard/kit';
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';

export interface BearerVerifierOptions {
  /** Verifies user access tokens (the platform's verifier: HS256 secret or JWKS, algorithm pinned). */
  users: TokenVerifier;
  /** Secret of internal service tokens (role "service"). */
  serviceTokenSecret: string;
  /** Verified tokens remembered (by their exact text) to skip re-verifying; 0 turns it off. */
  cacheSize?: number;
  /** Longest a verification is reused, so a withdrawn signing key stops working soon. */
  cacheTtlMs?: number;
}

export type BearerOutcome = { claims: TokenClaims } | { error: AppError };

export interface BearerVerifier {
  /** Claims of a token verified recently, without waiting (the common case). */
  recall(token: string): TokenClaims | undefined;
  verify(token: string): Promise<BearerOutcome>;
}

/**
 * Verifies a bearer without deciding anything: the outcome is stored and answered only after the
 * rate limiter has charged the client, so a flood of forged tokens is limited like anything else.
 * Revocation is not checked here; it rides on the rate limiter's Redis round trip.
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const { users } = options;
  const services = createTokenVerifier({
    algorithm: 'HS256',
    secret: options.serviceTokenSecret,
    issuer: SERVICE_ISSUER,
    audience: SERVICE_AUDIENCE,
  });
  const cacheSize = options.cacheSize ?? 10_000;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  // Clients reuse one access token for its whole life; its signature need not be checked each time.
  // Revocation is not cached: it is looked up on every request with the rate limit.
  const verified = new Map<string, { claims: TokenClaims; until: number }>();

  async function verifyUncached(token: string): Promise<BearerOutcome> {
    try {
      return { claims: await users.verify(token, 'access') };
    } catch (userError) {
      // User tokens are the hot path; only a token that says it is a service token gets a second try.
      if (jwt.decode(token, { json: true })?.typ === 'service') {
        try {
          return { claims: await services.verify(token, 'service') };
        } catch (serviceError) {
          return { error: serviceError instanceof AppError ? serviceError : Errors.invalidToken() };
        }
      }
      return { error: userError instanceof AppError ? userError : Errors.invalidToken() };
    }
  }

  return {
    recall(token) {
      const hit = verified.get(token);
      return hit && hit.until > Date.now() ? hit.claims : undefined;
    },
    async verify(token) {
      const outcome = await verifyUncached(token);
      if (cacheSize > 0 && 'claims' in outcome) {
        verified.delete(token);
        if (verified.size >= cacheSize) verified.delete(verified.keys().next().value!);
        const until = Math.min(outcome.claims.exp * 1000, Date.now() + cacheTtlMs);
        verified.set(token, { claims: Object.freeze(outcome.claims), until });
      }
      return outcome;
    },
  };
}

/** Records the caller's identity (or why the bearer was refused) on routes that look at tokens. */
export function verifyBearer(verifier: BearerVerifier): RequestHandler {
  // Not async on purpose: a recalled token continues synchronously, without a promise.
  return (req, _res, next) => {
    const state = req.gateway;
    if (!state.route!.verifiesToken) return next();
    const header = req.headers.authorization;
    if (header === undefined) return next();
    const token = bearerToken(header);
    if (!token) {
      state.tokenError = Errors.invalidToken('Authorization header must be "Bearer <token>"');
      return next();
    }
    const recalled = verifier.recall(token);
    if (recalled) {
      state.claims = recalled;
      return next();
    }
    return verifier.verify(token).then((outcome) => {
      if ('claims' in outcome) state.claims = outcome.claims;
      else state.tokenError = outcome.error;
      next();
    });
  };
}
