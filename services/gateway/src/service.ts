import { createPlatform, serve, waitForRedis, type Platform, type StartService } from '@heartguard/kit';
import { createApp, type GatewayDeps } from './app.js';
import { loadGatewayConfig } from './config.js';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { MemoryRateLimitStore } from './rate-limit/memory-store.js';
import { RedisRateLimitStore } from './rate-limit/redis-store.js';
import { createUpstreamProxies } from './upstream-proxy.js';

type RateLimitStores = Pick<GatewayDeps, 'redis' | 'rateLimitStore' | 'fallbackStore'> & { close(): Promise<unknown> };

/**
 * Shared buckets in Redis (with the in-process store as fallback), or only the in-process store
 * when REDIS_URL is not set; then revocations come from the platform's own store.
 */
async function openRateLimitStores(platform: Platform, metrics: GatewayMetrics): Promise<RateLimitStores> {
  if (!platform.redis) {
    platform.logger.warn('REDIS_URL not set: rate limits are per gateway instance (run a single instance only)');
    metrics.redisUp.set(0);
    return { rateLimitStore: new MemoryRateLimitStore({ revocations: platform.revocations }), close: async () => undefined };
  }
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
  const store = new RedisRateLimitStore(redis);
  // Requests arriving before Redis is connected would be limited per instance; wait briefly.
  try {
    if (!(await waitForRedis(redis, 1500))) throw new Error('not connected');
    await store.load();
    metrics.redisUp.set(1);
  } catch (err) {
    metrics.redisUp.set(0);
    platform.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable at start-up: rate limits are per instance until it answers');
  }
  return {
    redis,
    rateLimitStore: store,
    // The fallback cannot see revocations without Redis; upstreams re-check the token themselves.
    fallbackStore: new MemoryRateLimitStore(),
    close: () => redis.quit().catch(() => redis.disconnect()),
  };
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
  const { close: closeStores, ...stores } = await openRateLimitStores(platform, metrics);
  const app = createApp({ platform, config, metrics, proxies, ...stores });
  return serve(platform, app, port ?? config.common.port, [async () => proxies.close(), closeStores]);
};
