import { createPublicKey, createSecretKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Errors } from './errors.js';

export type Role = 'admin' | 'manager' | 'user';
export const ROLES: readonly Role[] = ['admin', 'manager', 'user'];
export type TokenType = 'access' | 'refresh' | 'service';

export interface TokenClaims {
  sub: string;
  role: Role | 'service';
  org_id: string | null;
  iat: number;
  exp: number;
  jti: string;
  iss: string;
  aud: string | string[];
  typ: TokenType;
}

export type SigningAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface TokenVerifier {
  verify(token: string, expectedType: TokenType): Promise<TokenClaims>;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  algorithm: SigningAlgorithm;
  /** HS256: the shared secret. */
  secret?: string;
  /** RS256/ES256: looks public keys up by kid (a JWKS client or the signer's own key ring). */
  keyLookup?: (kid: string) => Promise<KeyObject | undefined>;
  clockToleranceSeconds?: number;
}

export function secretKey(secret: string): KeyObject {
  // A KeyObject is parsed once; passing the raw string makes jsonwebtoken re-derive it per call.
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

function assertClaims(payload: unknown, expectedType: TokenType): TokenClaims {
  const claims = payload as Partial<TokenClaims>;
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.exp !== 'number' ||
    typeof claims.iat !== 'number' ||
    typeof claims.sub !== 'string' ||
    typeof claims.jti !== 'string' ||
    typeof claims.role !== 'string' ||
    claims.typ !== expectedType
  ) {
    throw Errors.invalidToken();
  }
  return claims as TokenClaims;
}

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const { issuer, audience, algorithm } = options;
  const verifyOptions: jwt.VerifyOptions = {
    algorithms: [algorithm],
    issuer,
    audience,
    clockTolerance: options.clockToleranceSeconds ?? 5,
  };
  if (algorithm === 'HS256') {
    if (!options.secret) throw new Error('HS256 verification needs a secret');
    const key = secretKey(options.secret);
    return {
      async verify(token, expectedType) {
        let payload: unknown;
        try {
          payload = jwt.verify(token, key, verifyOptions);
        } catch {
          throw Errors.invalidToken();
        }
        return assertClaims(payload, expectedType);
      },
    };
  }
  const lookup = options.keyLookup;
  if (!lookup) throw new Error(`${algorithm} verification needs a key lookup`);
  return {
    async verify(token, expectedType) {
      const decoded = jwt.decode(token, { complete: true });
      const kid = decoded?.header.kid;
      if (!decoded || typeof kid !== 'string' || decoded.header.alg !== algorithm) throw Errors.invalidToken();
      const key = await lookup(kid);
      if (!key) throw Errors.invalidToken();
      let payload: unknown;
      try {
        payload = jwt.verify(token, key, verifyOptions);
      } catch {
        throw Errors.invalidToken();
      }
      return assertClaims(payload, expectedType);
    },
  };
}

export interface Jwk extends JsonWebKey {
  kid?: string;
  alg?: string;
  use?: string;
}

/**
 * Fetches a JWKS document and caches keys by kid. An unknown kid triggers at most one refetch
 * per cooldown, so forged kids cannot turn verification into a request flood against auth.
 */
export function createJwksLookup(url: string, cooldownMs = 10_000): (kid: string) => Promise<KeyObject | undefined> {
  let keys = new Map<string, KeyObject>();
  let lastFetch = 0;
  let inflight: Promise<void> | undefined;
  async function refresh(): Promise<void> {
    lastFetch = Date.now();
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`JWKS fetch failed with ${res.status}`);
    const body = (await res.json()) as { keys: Jwk[] };
    const next = new Map<string, KeyObject>();
    for (const jwk of body.keys) {
      if (jwk.kid) next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
    }
    keys = next;
  }
  return async (kid) => {
    const known = keys.get(kid);
    if (known) return known;
    if (Date.now() - lastFetch < cooldownMs && !inflight) return undefined;
    inflight ??= refresh().finally(() => {
      inflight = undefined;
    });
    try {
      await inflight;
    } catch {
      return undefined;
    }
    return keys.get(kid);
  };
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  return match?.[1];
}
