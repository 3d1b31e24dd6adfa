import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { assertMatchesSchema, assertValidXml, http, mintAccessToken } from '@heartguard/kit/testing';
import { hasRedisServer, metricValue, startFakeUpstream, startPrivateRedis, startTestGateway, type FakeUpstream, type TestGateway } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function upstreamAndGateway(env: Record<string, string>): Promise<{ upstream: FakeUpstream; gateway: TestGateway }> {
  const upstream = await startFakeUpstream();
  cleanups.push(() => upstream.close());
  const gateway = await startTestGateway(upstream.url, env);
  cleanups.push(() => gateway.stop());
  return { upstream, gateway };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function metrics(gateway: TestGateway): Promise<string> {
  return (await http(`${gateway.url}/gateway/metrics`)).text;
}

describe('gateway when Redis is down', () => {
  it('when REDIS_URL points at a closed port, then requests are answered within 1 s, limited per instance, and /gateway/ready says degraded', async () => {
    const { gateway } = await upstreamAndGateway({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT: '5/hour' });
    const token = mintAccessToken({ role: 'user' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { value, ms } = await timed(() => http(`${gateway.url}/users/me`, { token }));
      expect(ms).toBeLessThan(1000);
      statuses.push(value.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    const { value: ready, ms } = await timed(() => http(`${gateway.url}/gateway/ready`));
    expect(ms).toBeLessThan(1000);
    expect(ready.status).toBe(200);
    assertMatchesSchema('health', ready.json());
    expect(ready.json()).toMatchObject({ status: 'degraded', checks: [{ name: 'redis', status: 'degraded' }] });
    const readyXml = await http(`${gateway.url}/gateway/ready`, { headers: { accept: 'application/xml' } });
    assertValidXml('health.xsd', readyXml.text);
    expect(readyXml.text).toContain('<status>degraded</status>');

    const text = await metrics(gateway);
    expect(metricValue(text, 'gateway_rate_limit_store_fallback_total')).toBeGreaterThanOrEqual(6);
    expect(metricValue(text, 'gateway_redis_up')).toBe(0);
    expect(metricValue(text, 'gateway_revocation_unchecked_total')).toBeGreaterThanOrEqual(5);
  });

  it.skipIf(!hasRedisServer)('when Redis stops answering mid-run (CLIENT PAUSE), then no request waits more than ~0.5 s', async () => {
    const server = await startPrivateRedis();
    cleanups.push(() => server.stop());
    const { gateway } = await upstreamAndGateway({ REDIS_URL: server.url });
    expect((await http(`${gateway.url}/organization/health`)).status).toBe(200);
    expect(metricValue(await metrics(gateway), 'gateway_redis_up')).toBe(1);

    const admin = new Redis(server.url);
    cleanups.push(async () => admin.disconnect());
    await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    const durations: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { value, ms } = await timed(() => http(`${gateway.url}/organization/health`));
      expect(value.status).toBe(200);
      durations.push(ms);
    }
    expect(Math.max(...durations)).toBeLessThan(800);
    const text = await metrics(gateway);
    expect(metricValue(text, 'gateway_rate_limit_store_fallback_total')).toBeGreaterThanOrEqual(8);
    expect(metricValue(text, 'gateway_redis_up')).toBe(0);
  });

  it.skipIf(!hasRedisServer)('when Redis dies and comes back on the same address, then the gateway falls back and then returns to the shared store', async () => {
    const first = await startPrivateRedis();
    const { gateway } = await upstreamAndGateway({ REDIS_URL: first.url, RATE_LIMIT: '1000/hour' });
    const ok = await http(`${gateway.url}/auth/health`);
    expect(ok.headers.get('ratelimit-remaining')).toBe('999');
    await first.stop();

    const { value: during, ms } = await timed(() => http(`${gateway.url}/auth/health`));
    expect(during.status).toBe(200);
    expect(ms).toBeLessThan(1000);
    expect((await http(`${gateway.url}/gateway/ready`)).json()).toMatchObject({ status: 'degraded' });

    const second = await startPrivateRedis(first.port);
    cleanups.push(() => second.stop());
    const deadline = Date.now() + 8000;
    let readyStatus = '';
    while (Date.now() < deadline) {
      await http(`${gateway.url}/auth/health`);
      readyStatus = (await http(`${gateway.url}/gateway/ready`)).json<{ status: string }>().status;
      if (readyStatus === 'ready' && metricValue(await metrics(gateway), 'gateway_redis_up') === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(readyStatus).toBe('ready');
    // Past the fallback's retry window, the bucket lives on the new server again.
    await new Promise((r) => setTimeout(r, 1100));
    const back = await http(`${gateway.url}/auth/health`);
    expect(back.status).toBe(200);
    const client = new Redis(second.url);
    cleanups.push(async () => client.disconnect());
    const keys = await client.keys(`${gateway.keyPrefix}*`);
    expect(keys).toHaveLength(1);
    const tokens = Number(await client.hget(keys[0]!, 'tk'));
    expect(back.headers.get('ratelimit-remaining')).toBe(String(Math.floor(tokens)));
  });
});
