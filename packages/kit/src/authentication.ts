import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { Errors } from './errors.js';
import { bearerToken, createTokenVerifier, secretKey, type Role, type TokenClaims, type TokenVerifier } from './jwt.js';
import { currentContext } from './request-context.js';
import type { RevocationStore } from './revocation.js';

export const SERVICE_ISSUER = 'heartguard-services';
export const SERVICE_AUDIENCE = 'heartguard-internal';

export interface Authenticator {
  /** Verifies a bearer token (user access token or service token) and its revocation state. */
  authenticate(header: string | undefined): Promise<TokenClaims | undefined>;
}

export interface AuthenticatorOptions {
  users: TokenVerifier;
  revocations: RevocationStore;
  /** When set, service tokens signed with this secret are accepted too (role "service"). */
  serviceSecret?: string;
}

function peekType(token: string): unknown {
  const payload = jwt.decode(token, { json: true });
  return payload?.typ;
}

export function createAuthenticator({ users, revocations, serviceSecret }: AuthenticatorOptions): Authenticator {
  const services = serviceSecret
    ? createTokenVerifier({ algorithm: 'HS256', secret: serviceSecret, issuer: SERVICE_ISSUER, audience: SERVICE_AUDIENCE })
    : undefined;
  return {
    async authenticate(header) {
      const token = bearerToken(header);
      if (!token) {
        if (header) throw Errors.invalidToken('Authorization header must be "Bearer <token>"');
        return undefined;
      }
      if (services && peekType(token) === 'service') return services.verify(token, 'service');
      const claims = await users.verify(token, 'access');
      if (await revocations.isRevoked(claims.jti)) throw Errors.revokedToken();
      return claims;
    },
  };
}

/** Sets req.auth from the Authorization header; with required=false an absent header is allowed. */
export function authenticate(authenticator: Authenticator, { required = true } = {}): RequestHandler {
  return async (req, _res, next) => {
    const claims = await authenticator.authenticate(req.headers.authorization);
    if (!claims) {
      if (required) throw Errors.unauthenticated();
      return next();
    }
    req.auth = claims;
    const ctx = currentContext();
    if (ctx) ctx.userId = claims.sub;
    next();
  };
}

export function requireRole(...roles: Array<Role | 'service'>): RequestHandler {
  return (req, _res, next) => {
    if (!req.auth) throw Errors.unauthenticated();
    if (!roles.includes(req.auth.role)) throw Errors.forbidden();
    next();
  };
}

/** Mints short-lived service tokens for internal calls, reusing one until near its expiry. */
export function createServiceTokenIssuer(secret: string, service: string, ttlSeconds = 300): () => string {
  const key = secretKey(secret);
  let cached: { token: string; refreshAt: number } | undefined;
  return () => {
    const now = Date.now();
    if (cached && now < cached.refreshAt) return cached.token;
    const token = jwt.sign({ role: 'service', org_id: null, typ: 'service' }, key, {
      algorithm: 'HS256',
      expiresIn: ttlSeconds,
      issuer: SERVICE_ISSUER,
      audience: SERVICE_AUDIENCE,
      subject: `svc:${service}`,
      jwtid: randomUUID(),
    });
    cached = { token, refreshAt: now + (ttlSeconds * 1000) / 2 };
    return token;
  };
}
