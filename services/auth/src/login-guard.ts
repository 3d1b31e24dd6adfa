import type { Redis } from 'ioredis';
import { AuthErrors } from './errors.js';
import type { AuthConfig } from './config.js';

/** Counters and locks for failed logins; Redis-backed in production, in-process otherwise. */
export interface AttemptStore {
  increment(key: string, windowSeconds: number): Promise<number>;
  lock(key: string, seconds: number): Promise<void>;
  /** Seconds until the longest of these locks ends (0 when none is set). */
  lockedFor(keys: string[]): Promise<number>;
  reset(keys: string[]): Promise<void>;
}

export function redisAttemptStore(redis: Redis): AttemptStore {
  return {
    async increment(key, windowSeconds) {
      const result = await redis.multi().incr(key).expire(key, windowSeconds, 'NX').exec();
      return Number(result?.[0]?.[1] ?? 0);
    },
    async lock(key, seconds) {
      await redis.set(`lock:${key}`, '1', 'EX', Math.max(1, Math.ceil(seconds)));
    },
    async lockedFor(keys) {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.ttl(`lock:${key}`);
      const ttls = (await pipeline.exec())?.map(([, ttl]) => Number(ttl)) ?? [];
      return Math.max(0, ...ttls);
    },
    async reset(keys) {
      if (keys.length) await redis.del(...keys);
    },
  };
}

export function memoryAttemptStore(): AttemptStore {
  const counters = new Map<string, { count: number; until: number }>();
  const locks = new Map<string, number>();
  return {
    async increment(key, windowSeconds) {
      const now = Date.now();
      const entry = counters.get(key);
      if (!entry || entry.until <= now) {
        counters.set(key, { count: 1, until: now + windowSeconds * 1000 });
        return 1;
      }
      entry.count += 1;
      return entry.count;
    },
    async lock(key, seconds) {
      locks.set(key, Date.now() + seconds * 1000);
    },
    async lockedFor(keys) {
      const now = Date.now();
      return Math.max(0, ...keys.map((k) => Math.ceil(((locks.get(k) ?? 0) - now) / 1000)));
    },
    async reset(keys) {
      for (const key of keys) counters.delete(key);
    },
  };
}

/**
 * Brute-force protection with three scopes: one account from one IP (tight), one account from
 * anywhere and one IP across accounts (loose). Locks grow exponentially but are capped, and
 * counters expire, so an attacker can delay a victim's login but never lock it forever.
 */
export function createLoginGuard(store: AttemptStore, config: AuthConfig['loginGuard']) {
  const scopes = (email: string, ip: string) => [
    { key: `hg:login:acct-ip:${email}|${ip}`, limit: config.accountIpLimit },
    { key: `hg:login:acct:${email}`, limit: config.accountLimit },
    { key: `hg:login:ip:${ip}`, limit: config.ipLimit },
  ];
  return {
    async assertNotLocked(email: string, ip: string): Promise<void> {
      const wait = await store.lockedFor(scopes(email, ip).map((s) => s.key));
      if (wait > 0) throw AuthErrors.locked(undefined, { headers: { 'Retry-After': String(wait) } });
    },
    async recordFailure(email: string, ip: string): Promise<void> {
      for (const scope of scopes(email, ip)) {
        const count = await store.increment(scope.key, config.windowSeconds);
        if (count >= scope.limit) {
          const seconds = Math.min(config.maxLockSeconds, 2 ** Math.min(20, count - scope.limit));
          await store.lock(scope.key, seconds);
        }
      }
    },
    async recordSuccess(email: string, ip: string): Promise<void> {
      await store.reset(scopes(email, ip).slice(0, 2).map((s) => s.key));
    },
  };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;
