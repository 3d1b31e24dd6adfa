import { ConfigError, createDataSource, createPlatform, migrate, serve, type StartService } from '@heartguard/kit';
import { createApp } from './app.js';
import { loadAuthConfig } from './config.js';
import { createAuthMetrics, type AuthDeps } from './deps.js';
import { createLoginGuard, memoryAttemptStore, redisAttemptStore } from './login-guard.js';
import { CreateAuthTables1764000000000 } from './migrations/1764000000000-create-auth-tables.js';
import { ensureBootstrapAdmin } from './register-account.js';
import { createAuthRepository } from './repository.js';
import { restoreRevocations } from './sessions.js';
import { asymmetricKeyRing, hmacKeyRing } from './signing-keys.js';
import { createTokenIssuer } from './token-issuer.js';

export const start: StartService = async ({ env, shared = {}, port }) => {
  const config = loadAuthConfig(env);
  const { common } = config;
  if (!common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  const db = createDataSource({ url: common.databaseUrl, service: 'auth', migrations: [CreateAuthTables1764000000000] });
  await db.initialize();
  await migrate(db);
  const repo = createAuthRepository(db);
  const keys =
    common.jwt.algorithm === 'HS256'
      ? hmacKeyRing(common.jwt.secret!)
      : await asymmetricKeyRing(repo, common.jwt.algorithm, { rotationSeconds: config.keyRotationSeconds, accessTtlSeconds: config.accessTtlSeconds });
  // Auth verifies its own tokens from its key ring rather than fetching its own JWKS over HTTP.
  const platform = createPlatform(common, { ...shared, keyLookup: shared.keyLookup ?? keys.lookup });
  const attempts = platform.redis ? redisAttemptStore(platform.redis) : memoryAttemptStore();
  const deps: AuthDeps = {
    platform,
    config,
    repo,
    keys,
    issuer: createTokenIssuer({ keys, issuer: common.jwt.issuer, audience: common.jwt.audience, accessTtlSeconds: config.accessTtlSeconds }),
    guard: createLoginGuard(attempts, config.loginGuard),
    metrics: createAuthMetrics(platform),
  };
  const bootstrap = await ensureBootstrapAdmin(deps);
  if (bootstrap === 'skipped') platform.logger.warn('BOOTSTRAP_ADMIN_EMAIL/BOOTSTRAP_ADMIN_PASSWORD not set: no bootstrap admin');
  else platform.logger.info({ outcome: bootstrap }, 'bootstrap admin checked');
  const restored = await restoreRevocations(deps).catch((err: Error) => {
    platform.logger.warn({ err: err.message }, 'could not restore revocations into the store');
    return 0;
  });
  platform.logger.info({ restored }, 'revocations restored');
  const housekeeping = setInterval(() => {
    void repo.purgeExpired().catch(() => undefined);
    void keys.rotateIfDue().catch((err: Error) => platform.logger.error({ err: err.message }, 'key rotation failed'));
  }, 3600_000);
  housekeeping.unref();
  const app = createApp(deps);
  return serve(platform, app, port ?? common.port, [
    async () => clearInterval(housekeeping),
    () => db.destroy(),
  ]);
};
