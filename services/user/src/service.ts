import { ConfigError, createDataSource, createPlatform, migrate, serve, type StartService } from '@heartguard/kit';
import { createApp } from './app.js';
import { loadUserConfig } from './config.js';
import { createHttpIdentityClient } from './identity-client.js';
import { CreateUserPreferences1764000003000 } from './migrations/create-user-preferences.js';
import { createPreferencesRepository } from './repository.js';
import { createUserMetrics } from './user-metrics.js';

export const start: StartService = async ({ env, shared, port }) => {
  const config = loadUserConfig(env);
  if (!config.common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  const platform = createPlatform(config.common, shared);
  const db = createDataSource({ url: config.common.databaseUrl, service: 'user', migrations: [CreateUserPreferences1764000003000] });
  try {
    await db.initialize();
    await migrate(db);
    const metrics = createUserMetrics(platform.metrics.registry);
    const identities = createHttpIdentityClient({
      authUrl: config.authUrl,
      serviceToken: platform.serviceToken,
      timeoutMs: config.identityTimeoutMs,
      onLookup: (outcome) => metrics.identityLookups.inc({ outcome }),
    });
    const app = createApp({ platform, db, identities, preferences: createPreferencesRepository(db), metrics });
    return await serve(platform, app, port ?? config.common.port, [() => db.destroy()]);
  } catch (err) {
    if (db.isInitialized) await db.destroy().catch(() => undefined);
    await platform.close();
    throw err;
  }
};
