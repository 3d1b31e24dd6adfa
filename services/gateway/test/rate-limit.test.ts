import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken, type HttpResult } from '@heartguard/kit/testing';
import { MemoryRateLimitStore } from '../src/rate-limit/memory-store.js';
import { RedisRateLimitStore } from '../src/rate-limit/redis-store.js';
import type { RateLimitStore } from '../src/rate-limit/store.js';
import { hasRedis, hasRedisServer, metricValue, startFakeUpstream, startPrivateRedis, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

let upstream: FakeUpstream;
let redis: Redis | undefined;
const started: TestGateway[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  if (hasRedis) redis = new Redis(process.env.REDIS_URL!);
});

afterAll(async () => {
  await Promise.all(started.map((g) => g.stop()));
  await upstream?.close();
  await redis?.quit();
});

/** Two replicas sharing one Redis and one key prefix, as in production. `/hour` keeps refill negligible. */
async function replicas(env: Record<string, string>): Promise<[TestGateway, TestGateway]> {
  const prefix = `hg:rl:test:${randomUUID()}:`;
  const a = await startTestGateway(upstream.url, { RATE_LIMIT_KEY_PREFIX: prefix, ...env });
  const b = await startTestGateway(upstream.url, { RATE_LIMIT_KEY_PREFIX: prefix, ...env });
  started.push(a, b);
  return [a, b];
}

function count(results: HttpResult[], status: number): number {
  return results.filter((r) => r.status === status).length;
}

// Replicas share buckets only through Redis; without REDIS_URL each instance counts alone.
describe.skipIf(!hasRedis)('rate limiting with Redis shared by two gateway instances', () => {
  it('when 3N requests from one IP hit two replicas concurrently, then exactly N succeed and the rest get 429 with Retry-After', async () => {
    const [a, b] = await replicas({ RATE_LIMIT: '20/hour' });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => http(`${(i % 2 ? a : b).url}/organization/health`)),
    );
    expect(count(results, 200)).toBe(20);
    expect(count(results, 429)).toBe(40);
    for (const refused of results.filter((r) => r.status === 429)) {
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.json()).toMatchObject({ error: { code: 'GW_429' } });
    }
    assertMatchesSchema('error', results.find((r) => r.status === 429)!.json());
    const metrics = await http(`${a.url}/gateway/metrics`);
    const limitedA = metricValue(metrics.text, 'gateway_rate_limited_total', 'scope="ip"');
    const limitedB = metricValue((await http(`${b.url}/gateway/metrics`)).text, 'gateway_rate_limited_total', 'scope="ip"');
    expect(limitedA + limitedB).toBe(40);
  });

  it('when one user sends 3N requests from many addresses through both replicas, then exactly N succeed (per-user bucket)', async () => {
    const [a, b] = await replicas({ RATE_LIMIT: '20/hour', TRUST_PROXY: 'loopback' });
    const token = mintAccessToken({ role: 'user', org_id: randomUUID() });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        http(`${(i % 2 ? a : b).url}/users/me`, { token, headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } }),
      ),
    );
    expect(count(results, 200)).toBe(20);
    expect(count(results, 429)).toBe(40);
    const limited =
      metricValue((await http(`${a.url}/gateway/metrics`)).text, 'gateway_rate_limited_total', 'scope="user"') +
      metricValue((await http(`${b.url}/gateway/metrics`)).text, 'gateway_rate_limited_total', 'scope="user"');
    expect(limited).toBe(40);
    // The upstream saw the address the gateway trusted, not the whole client-supplied chain.
    expect(upstream.seen.some((r) => r.headers['x-forwarded-for'] === '203.0.113.1')).toBe(true);
  });

  it('when requests follow one another, then RateLimit-Remaining counts down and the 429 says when to retry', async () => {
    const [a, b] = await replicas({ RATE_LIMIT: '5/min' });
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await http(`${(i % 2 ? a : b).url}/auth/health`);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
      remaining.push(res.headers.get('ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await http(`${a.url}/auth/health`, { headers: { accept: 'application/xml' } });
    expect(refused.status).toBe(429);
    assertValidXml('error.xsd', refused.text);
    expect(refused.text).toContain('<code>GW_429</code>');
    // 5/min refills one token every 12 s.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(11);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(12);
  });
});

/** One instance: its buckets are exact in Redis and in the in-process store alike. */
async function single(env: Record<string, string>): Promise<TestGateway> {
  const gateway = await startTestGateway(upstream.url, env);
  started.push(gateway);
  return gateway;
}

describe('rate limiting on one instance', () => {
  it('when login is hammered, then its stricter bucket refuses while other routes still pass, and one audit event is kept', async () => {
    const a = await single({ RATE_LIMIT: '100/hour', AUTH_RATE_LIMIT: '3/hour' });
    const login = () => http(`${a.url}/auth/login`, { body: { email: 'x@example.com', password: 'wrong password' } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await login()).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    const register = await http(`${a.url}/auth/register`, { body: { email: 'y@example.com' } });
    expect(register.status).toBe(429);
    const other = await http(`${a.url}/auth/health`);
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-limit')).toBe('100');
    const events = a.audit.events.filter((e) => e.action === 'rate_limit.exceeded');
    expect(events).toEqual([
      { action: 'rate_limit.exceeded', actor: 'ip:127.0.0.1', org_id: null, outcome: 'denied', payload: { method: 'POST', path: '/auth/login', status: 429 } },
    ]);
  });

  it('when the IP bucket is empty and the token is forged, then 429 wins; with tokens left, the forged token costs one and gets 401', async () => {
    const a = await single({ RATE_LIMIT: '2/hour' });
    const forged = `${mintAccessToken({ role: 'admin' }).slice(0, -3)}abc`;
    const first = await http(`${a.url}/users/me`, { token: forged });
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect((await http(`${a.url}/users/me`, { token: forged })).status).toBe(401);
    const third = await http(`${a.url}/users/me`, { token: forged });
    expect(third.status).toBe(429);
    expect(third.json()).toMatchObject({ error: { code: 'GW_429' } });
  });
});

describe('rate-limit stores', () => {
  const spec = (key: string, limit = 10, windowMs = 10_000) => ({ key, limit, windowMs });

  async function exerciseAllOrNothing(store: RateLimitStore, prefix: string) {
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    for (let i = 0; i < 2; i++) expect((await store.consume({ buckets: [spec(a, 2)] })).allowed).toBe(true);
    const both = await store.consume({ buckets: [spec(a, 2), spec(b, 10)] });
    expect(both.allowed).toBe(false);
    expect(both.buckets[0]).toMatchObject({ limit: 2, remaining: 0 });
    expect(both.buckets[0]!.retryAfterMs).toBeGreaterThan(4000);
    const alone = await store.consume({ buckets: [spec(b, 10)] });
    // b was not charged by the refused request.
    expect(alone).toMatchObject({ allowed: true, buckets: [{ limit: 10, remaining: 9 }] });
    expect(alone.buckets[0]!.resetMs).toBeGreaterThan(900);
    expect(alone.buckets[0]!.resetMs).toBeLessThanOrEqual(1000);
  }

  it.skipIf(!hasRedis)('when the Redis store is asked for two buckets and one is empty, then neither is charged', async () => {
    const store = new RedisRateLimitStore(redis!);
    await store.load();
    await exerciseAllOrNothing(store, `hg:rl:test:${randomUUID()}:`);
  });

  it('when the memory store is asked the same, then it answers the same', async () => {
    await exerciseAllOrNothing(new MemoryRateLimitStore(), 'k:');
  });

  it.skipIf(!hasRedisServer)('when Redis forgot the script (SCRIPT FLUSH), then the store reloads it and answers', async () => {
    // A private server: flushing the shared one's script cache would disturb concurrent test files.
    const server = await startPrivateRedis();
    const client = new Redis(server.url);
    try {
      const store = new RedisRateLimitStore(client);
      await store.load();
      expect((await store.consume({ buckets: [spec('k')] })).buckets[0]!.remaining).toBe(9);
      await client.script('FLUSH');
      const result = await store.consume({ buckets: [spec('k')] });
      expect(result).toMatchObject({ allowed: true, buckets: [{ remaining: 8 }], revoked: false });
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('when time passes, then the memory store refills at limit/window and never above the limit', async () => {
    let now = 1_000_000;
    const store = new MemoryRateLimitStore({ now: () => now });
    for (let i = 0; i < 10; i++) expect((await store.consume({ buckets: [spec('x')] })).allowed).toBe(true);
    const refused = await store.consume({ buckets: [spec('x')] });
    expect(refused).toMatchObject({ allowed: false, buckets: [{ remaining: 0, retryAfterMs: 1000 }] });
    now += 1000;
    expect((await store.consume({ buckets: [spec('x')] })).allowed).toBe(true);
    now += 1_000_000;
    expect((await store.consume({ buckets: [spec('x')] })).buckets[0]!.remaining).toBe(9);
  });

  it('when the memory store is given revocations, then it reports a revoked jti; without them, it reports unknown', async () => {
    const revoked = new Set(['bad']);
    const store = new MemoryRateLimitStore({ revocations: { revoke: async () => undefined, isRevoked: async (jti) => revoked.has(jti) } });
    expect((await store.consume({ buckets: [spec('r1')], jti: 'bad' })).revoked).toBe(true);
    expect((await store.consume({ buckets: [spec('r1')], jti: 'good' })).revoked).toBe(false);
    expect((await new MemoryRateLimitStore().consume({ buckets: [spec('r2')], jti: 'bad' })).revoked).toBeUndefined();
  });
});
