import { createServiceApp, finishApp, type CheckOutcome, type Platform } from '@heartguard/kit';
import type { Express } from 'express';
import type { AuditMetrics } from './audit-metrics.js';
import type { AuditConfig } from './config.js';
import type { AuditRepository } from './repository.js';
import { mountAuditRoutes } from './routes.js';

export interface AuditAppDeps {
  platform: Platform;
  config: AuditConfig;
  repository: AuditRepository;
  metrics: AuditMetrics;
  checkDatabase: () => Promise<CheckOutcome>;
}

export function createApp(deps: AuditAppDeps): Express {
  const { platform } = deps;
  const { app, router } = createServiceApp({
    service: 'audit',
    prefix: 'audit',
    logger: platform.logger,
    metrics: platform.metrics,
    readiness: { database: deps.checkDatabase },
  });
  mountAuditRoutes(router, deps);
  return finishApp(app, platform.logger);
}
