import { ConfigError, checkDatabase, createDataSource, createPlatform, migrate, serve, type StartService } from '@heartguard/kit';
import { createApp } from './app.js';
import { createAuditMetrics } from './audit-metrics.js';
import { loadAuditConfig } from './config.js';
import { CreateAuditEvents1764000600000 } from './migrations/create-audit-events.js';
import { createAuditRepository } from './repository.js';

export const AUDIT_MIGRATIONS = [CreateAuditEvents1764000600000];

export const start: StartService = async ({ env, shared, port }) => {
  const config = loadAuditConfig(env);
  if (!config.common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  const platform = createPlatform(config.common, shared);
  const db = createDataSource({
    url: config.common.databaseUrl,
    service: 'audit',
    migrations: AUDIT_MIGRATIONS,
    poolSize: config.dbPoolSize,
  });
  try {
    await db.initialize();
    await migrate(db);
  } catch (err) {
    await platform.close();
    if (db.isInitialized) await db.destroy();
    throw err;
  }
  const repository = createAuditRepository(db, { maxRowsPerTransaction: config.maxRowsPerTransaction });
  const metrics = createAuditMetrics(platform.metrics.registry);
  const head = await repository.head();
  if (head) metrics.headSeq.set(Number(head.seq));
  const app = createApp({
    platform,
    config,
    repository,
    metrics,
    checkDatabase: () => checkDatabase(db),
  });
  return serve(platform, app, port ?? config.common.port, [() => db.destroy()]);
};
