import { createPlatform, serve, type StartService } from '@heartguard/kit';
import type { Redis } from 'ioredis';
import { createApp } from './app.js';
import { loadGatewayConfig } from './config.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { MemoryRateLimitStore } from './rate-limit/memory-store.js';
import { RedisRateLimitStore } from './rate-limit/redis-store.js';
import { createUpstreamProxies } from './upstream-proxy.js';

/** Resolves true once the client is connected, false after `timeoutMs` (start-up never blocks on Redis). */
function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

export const start: StartService = async ({ env, shared, port }) => {
  const config = loadGatewayConfig(env);
  const platform = createPlatform(config.common, shared);
  const metrics = createGatewayMetrics(platform.metrics.registry);
  const proxies = createUpstreamProxies({
    upstreams: config.upstreams,
    timeoutMs: config.upstreamTimeoutMs,
    maxSockets: config.upstreamMaxSockets,
    bodyLimitBytes: config.bodyLimitBytes,
    logger: platform.logger,
    onUpstreamError: (upstream, kind) => metrics.upstreamErrors.inc({ upstream, kind }),
  });

  let app;
  const closers: Array<() => Promise<unknown>> = [async () => proxies.close()];
  if (platform.redis) {
    // A connection of its own with auto-pipelining: the EVALSHAs of concurrent requests leave in
    // one write instead of one syscall each. It inherits the kit's fail-fast options.
    const redis = platform.redis.duplicate({ enableAutoPipelining: true, connectionName: 'heartguard-gateway-rate-limit' });
    let reported = false;
    redis.on('error', (err: Error) => {
      if (!reported) platform.logger.warn({ err: err.message }, 'rate-limit Redis connection error');
      reported = true;
    });
    redis.on('ready', () => {
      reported = false;
    });
    closers.push(() => redis.quit().catch(() => redis.disconnect()));
    const store = new RedisRateLimitStore(redis);
    // Requests that arrive before Redis is connected would be limited per instance; wait briefly.
    const ready = await redisReady(redis, 1500);
    try {
      if (!ready) throw new Error('not connected');
      await store.load();
      metrics.redisUp.set(1);
    } catch (err) {
      metrics.redisUp.set(0);
      platform.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable at start-up: rate limits are per instance until it answers');
    }
    // Only the memory fallback: a revocation cannot be seen without Redis (upstreams re-check it).
    app = createApp({ platform, config, metrics, proxies, redis, rateLimitStore: store, fallbackStore: new MemoryRateLimitStore() });
  } else {
    platform.logger.warn('REDIS_URL not set: rate limits are per gateway instance (run a single instance only)');
    metrics.redisUp.set(0);
    app = createApp({ platform, config, metrics, proxies, rateLimitStore: new MemoryRateLimitStore({ revocations: platform.revocations }) });
  }
  return serve(platform, app, port ?? config.common.port, closers);
};
