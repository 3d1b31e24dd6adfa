import { checkDatabase, createServiceApp, finishApp, type CheckOutcome, type Platform } from '@heartguard/kit';
import type { Express } from 'express';
import type { DataSource } from 'typeorm';
import type { IdentityClient } from './identity-client.js';
import type { PreferencesRepository } from './repository.js';
import { mountUserRoutes } from './routes.js';
import type { UserMetrics } from './user-metrics.js';

export interface UserAppDeps {
  platform: Platform;
  db: DataSource;
  identities: IdentityClient;
  preferences: PreferencesRepository;
  metrics: UserMetrics;
}

export function createApp({ platform, db, identities, preferences, metrics }: UserAppDeps): Express {
  const { app, router } = createServiceApp({
    service: 'user',
    prefix: 'users',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness: {
      database: () => checkDatabase(db),
      // Without auth the profile routes answer 503, but the service itself is up: degraded, not down,
      // so an orchestrator does not restart it for a peer's outage.
      auth: async (): Promise<CheckOutcome> => {
        try {
          await identities.checkReachable();
          return 'ok';
        } catch (err) {
          return { status: 'degraded', detail: `auth unreachable: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200) };
        }
      },
    },
  });
  mountUserRoutes(router, { platform, identities, preferences, metrics });
  return finishApp(app, platform.logger);
}
