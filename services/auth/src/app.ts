import { createServiceApp, finishApp, checkDatabase, checkRedis } from '@heartguard/kit';
import type { Express } from 'express';
import type { AuthDeps } from './deps.js';
import { authRoutes } from './routes.js';

export function createApp(deps: AuthDeps): Express {
  const { platform } = deps;
  const { app } = createServiceApp({
    service: 'auth',
    prefix: 'auth',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness: {
      database: () => checkDatabase(deps.repo.db),
      ...(platform.redis ? { redis: () => checkRedis(platform.redis!) } : {}),
    },
  });
  // Behind the gateway the socket peer is the gateway; X-Forwarded-For is trusted only from it.
  app.set('trust proxy', deps.config.trustProxy);
  app.use(authRoutes(deps));
  return finishApp(app, platform.logger);
}
