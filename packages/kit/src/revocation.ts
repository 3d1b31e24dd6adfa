import type { Redis } from 'ioredis';
import { Errors } from './errors.js';

/** Revoked access-token ids, shared by auth (writer) and every verifier (readers). */
export interface RevocationStore {
  revoke(jti: string, ttlSeconds: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

export const revokedKey = (jti: string): string => `hg:revoked:${jti}`;

export function redisRevocationStore(redis: Redis): RevocationStore {
  return {
    async revoke(jti, ttlSeconds) {
      await redis.set(revokedKey(jti), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    },
    async isRevoked(jti) {
      try {
        return (await redis.exists(revokedKey(jti))) === 1;
      } catch (err) {
        // Fail closed: a token whose revocation cannot be checked is not accepted.
        throw Errors.unavailable('Token revocation store unavailable', { cause: err });
      }
    },
  };
}

export function memoryRevocationStore(): RevocationStore & { expiries: Map<string, number> } {
  const expiries = new Map<string, number>();
  return {
    expiries,
    async revoke(jti, ttlSeconds) {
      expiries.set(jti, Date.now() + ttlSeconds * 1000);
      if (expiries.size > 10_000) {
        const now = Date.now();
        for (const [key, until] of expiries) if (until <= now) expiries.delete(key);
      }
    },
    async isRevoked(jti) {
      const until = expiries.get(jti);
      if (until === undefined) return false;
      if (until <= Date.now()) {
        expiries.delete(jti);
        return false;
      }
      return true;
    },
  };
}
