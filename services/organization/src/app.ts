import { checkDatabase, createServiceApp, finishApp, type Platform } from '@heartguard/kit';
import type { Express } from 'express';
import type { DataSource } from 'typeorm';
import { createOrganizationMetrics } from './organization-metrics.js';
import type { OrganizationRepository } from './repository.js';
import { mountOrganizationRoutes } from './routes.js';

export interface OrganizationAppDeps {
  platform: Platform;
  db: DataSource;
  organizations: OrganizationRepository;
}

export function createApp({ platform, db, organizations }: OrganizationAppDeps): Express {
  const { app, router } = createServiceApp({
    service: 'organization',
    prefix: 'organization',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness: { database: () => checkDatabase(db) },
  });
  mountOrganizationRoutes(router, { platform, organizations, metrics: createOrganizationMetrics(platform.metrics.registry) });
  return finishApp(app, platform.logger);
}
