import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { KeyRing } from './signing-keys.js';
import type { UserRecord } from './repository.js';

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

export interface TokenIssuerOptions {
  keys: KeyRing;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

export function createTokenIssuer({ keys, issuer, audience, accessTtlSeconds }: TokenIssuerOptions) {
  return {
    accessTtlSeconds,
    /** `sid` names the refresh family so logout can revoke the session behind the token. */
    issueAccessToken(user: Pick<UserRecord, 'id' | 'role' | 'orgId'>, sessionId: string): IssuedAccessToken {
      const jti = randomUUID();
      const { kid, alg, key } = keys.active();
      const token = jwt.sign({ role: user.role, org_id: user.orgId, typ: 'access', sid: sessionId }, key, {
        algorithm: alg,
        expiresIn: accessTtlSeconds,
        issuer,
        audience,
        subject: user.id,
        jwtid: jti,
        ...(kid ? { keyid: kid } : {}),
      });
      return { token, jti, expiresIn: accessTtlSeconds };
    },
  };
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>;

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
