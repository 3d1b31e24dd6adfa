import { checkRedis, createServiceApp, finishApp, type Platform, type ReadinessChecks } from '@heartguard/kit';
import type { Express } from 'express';
import type { TimeseriesConfig } from './config.js';
import { mountRoutes } from './routes.js';
import type { TimeseriesMetrics } from './timeseries-metrics.js';
import type { TimeseriesStore } from './timeseries-store.js';

export interface AppDeps {
  platform: Platform;
  config: TimeseriesConfig;
  store: TimeseriesStore;
  metrics: TimeseriesMetrics;
}

export function createApp({ platform, config, store, metrics }: AppDeps): Express {
  const readiness: ReadinessChecks = { [store.kind]: () => store.ready() };
  // Token revocation lives in Redis when it is configured; without it no request can be verified.
  const { redis } = platform;
  if (redis) readiness.redis = () => checkRedis(redis);
  const { app, router } = createServiceApp({
    service: 'timeseries',
    prefix: 'timeseries',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness,
  });
  mountRoutes(router, {
    platform,
    maxBatchPoints: config.maxBatchPoints,
    bodyLimitBytes: config.bodyLimitBytes,
    write: { store, metrics, defaultRetentionSeconds: config.defaultRetentionSeconds, maxFutureSeconds: config.maxFutureSeconds },
    query: { store, metrics, maxQueryRangeSeconds: config.maxQueryRangeSeconds, maxQueryPoints: config.maxQueryPoints },
    buckets: {
      store,
      audit: platform.audit,
      defaultRetentionSeconds: config.defaultRetentionSeconds,
      maxRetentionSeconds: config.maxRetentionSeconds,
    },
  });
  return finishApp(app, platform.logger);
}
