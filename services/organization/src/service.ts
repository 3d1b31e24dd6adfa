import { ConfigError, createDataSource, createPlatform, migrate, serve, type StartService } from '@heartguard/kit';
import { createApp } from './app.js';
import { loadOrganizationConfig } from './config.js';
import { CreateOrganizations1764000002000 } from './migrations/create-organizations.js';
import { createOrganizationRepository } from './repository.js';

export const start: StartService = async ({ env, shared, port }) => {
  const config = loadOrganizationConfig(env);
  if (!config.common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  const platform = createPlatform(config.common, shared);
  const db = createDataSource({ url: config.common.databaseUrl, service: 'organization', migrations: [CreateOrganizations1764000002000] });
  try {
    await db.initialize();
    await migrate(db);
    const organizations = createOrganizationRepository(db);
    await organizations.ensure(config.bootstrapOrg);
    const app = createApp({ platform, db, organizations });
    return await serve(platform, app, port ?? config.common.port, [() => db.destroy()]);
  } catch (err) {
    if (db.isInitialized) await db.destroy().catch(() => undefined);
    await platform.close();
    throw err;
  }
};
