import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Redis clients fail fast: commands error at once while disconnected instead of queueing,
 * so callers can fall back (rate limiting) or answer 503 rather than hang.
 */
export function connectRedis(url: string, logger: Logger, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: `heartguard-${name}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let healthy = true;
  redis.on('error', (err) => {
    if (healthy) logger.warn({ err: err.message }, 'redis connection error');
    healthy = false;
  });
  redis.on('ready', () => {
    if (!healthy) logger.info('redis connection restored');
    healthy = true;
  });
  return redis;
}

export async function checkRedis(redis: Redis): Promise<'ok'> {
  await redis.ping();
  return 'ok';
}

/**
 * The client fails commands at once while still connecting (no offline queue), and every
 * authenticated request asks Redis about revocation; serve() waits briefly so the first
 * requests after boot do not fail.
 */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    redis.once('ready', onReady);
  });
}
