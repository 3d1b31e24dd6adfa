import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { memoryRevocationStore, redisRevocationStore } from './revocation.js';

describe('revocation stores', () => {
  it('when Redis cannot be reached, then the check fails closed with 503 SRV_503 instead of accepting the token', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await expect(redisRevocationStore(redis).isRevoked('some-jti')).rejects.toMatchObject({ code: 'SRV_503', status: 503 });
    } finally {
      redis.disconnect();
    }
  });

  it('when a jti is revoked in memory, then it stays revoked until its TTL ends', async () => {
    const store = memoryRevocationStore();
    await store.revoke('a', 0.05);
    expect(await store.isRevoked('a')).toBe(true);
    expect(await store.isRevoked('b')).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.isRevoked('a')).toBe(false);
  });
});
