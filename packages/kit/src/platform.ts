import type { Redis } from 'ioredis';
import { createHttpAuditEmitter, type AuditEmitter } from './audit-emitter.js';
import { createAuthenticator, createServiceTokenIssuer, type Authenticator } from './authentication.js';
import type { CommonConfig } from './common-config.js';
import { createJwksLookup, createTokenVerifier, type TokenVerifier } from './jwt.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type ServiceMetrics } from './metrics.js';
import { connectRedis } from './redis.js';
import { memoryRevocationStore, redisRevocationStore, type RevocationStore } from './revocation.js';
import { loadSchemas, type SchemaRegistry } from './validation.js';
import type { KeyObject } from 'node:crypto';

/** What every service's createApp receives besides its own repositories. */
export interface Platform {
  config: CommonConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  schemas: SchemaRegistry;
  redis: Redis | undefined;
  revocations: RevocationStore;
  verifier: TokenVerifier;
  authenticator: Authenticator;
  serviceToken: () => string;
  audit: AuditEmitter;
  close(): Promise<void>;
}

/** Resources one process may share between the services it hosts (the embedded launcher). */
export interface SharedResources {
  schemas?: SchemaRegistry;
  redis?: Redis;
  revocations?: RevocationStore;
  keyLookup?: (kid: string) => Promise<KeyObject | undefined>;
  audit?: (service: string) => AuditEmitter;
}

export function createPlatform(config: CommonConfig, shared: SharedResources = {}): Platform {
  const logger = createLogger({ service: config.service, level: config.accessLog ? config.logLevel : 'warn' });
  const metrics = createMetrics(config.service);
  const schemas = shared.schemas ?? loadSchemas();
  const ownRedis = !shared.redis && config.redisUrl ? connectRedis(config.redisUrl, logger, config.service) : undefined;
  const redis = shared.redis ?? ownRedis;
  if (!redis) logger.warn('REDIS_URL not set: using in-process stores (valid for a single instance only)');
  const revocations = shared.revocations ?? (redis ? redisRevocationStore(redis) : memoryRevocationStore());
  const verifier = createTokenVerifier({
    algorithm: config.jwt.algorithm,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ...(config.jwt.secret ? { secret: config.jwt.secret } : {}),
    ...(config.jwt.algorithm !== 'HS256' ? { keyLookup: shared.keyLookup ?? createJwksLookup(config.jwt.jwksUrl) } : {}),
  });
  const authenticator = createAuthenticator({ users: verifier, revocations, serviceSecret: config.serviceTokenSecret });
  const serviceToken = createServiceTokenIssuer(config.serviceTokenSecret, config.service);
  const audit =
    shared.audit?.(config.service) ??
    createHttpAuditEmitter({ service: config.service, auditUrl: config.auditUrl, serviceToken, logger });
  return {
    config,
    logger,
    metrics,
    schemas,
    redis,
    revocations,
    verifier,
    authenticator,
    serviceToken,
    audit,
    async close() {
      await audit.stop();
      if (ownRedis) await ownRedis.quit().catch(() => ownRedis.disconnect());
    },
  };
}
