import { checkDatabase, checkRedis, createServiceApp, finishApp } from '@heartguard/kit';
import type { Express } from 'express';
import type { MediaDeps } from './deps.js';
import { mediaRoutes } from './routes.js';

export function createApp(deps: MediaDeps): Express {
  const { platform, store } = deps;
  const { app } = createServiceApp({
    service: 'media',
    prefix: 'media',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness: {
      database: () => checkDatabase(deps.repository.db),
      object_store: () => store.check(),
      // Authentication consults Redis for revoked tokens, so without it no request can be served.
      ...(platform.redis ? { redis: () => checkRedis(platform.redis!) } : {}),
    },
  });
  app.use(mediaRoutes(deps));
  return finishApp(app, platform.logger);
}
