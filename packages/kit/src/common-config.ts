import { ConfigError, readBool, readInt, readOptional, readString, readUrl, type Env } from './config.js';
import type { SigningAlgorithm } from './jwt.js';

export const SERVICE_PORTS = {
  gateway: 5000,
  auth: 5001,
  organization: 5002,
  user: 5003,
  media: 5004,
  timeseries: 5005,
  audit: 5006,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

/** The variable that tells every other service where a service listens. */
export const SERVICE_URL_VARIABLES: Record<ServiceName, string> = {
  gateway: 'GATEWAY_URL',
  auth: 'AUTH_URL',
  organization: 'ORGANIZATION_URL',
  user: 'USER_URL',
  media: 'MEDIA_URL',
  timeseries: 'TIMESERIES_URL',
  audit: 'AUDIT_URL',
};

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids of users, organizations and media are UUIDs; anything else is answered like an unknown id. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

export interface CommonConfig {
  service: ServiceName;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  jwt: {
    algorithm: SigningAlgorithm;
    secret: string | undefined;
    issuer: string;
    audience: string;
    jwksUrl: string;
  };
  serviceTokenSecret: string;
  auditUrl: string;
  bodyLimitBytes: number;
  shutdownGraceMs: number;
  /** Log in pretty-free JSON to stdout; false silences request logs (benchmarks only). */
  accessLog: boolean;
}

const ALGORITHMS: SigningAlgorithm[] = ['HS256', 'RS256', 'ES256'];

function readSecret(env: Env, name: string, required: boolean): string | undefined {
  const value = readOptional(env, name);
  if (value === undefined) {
    if (required) throw new ConfigError(name, 'is required');
    return undefined;
  }
  if (value.length < 32) throw new ConfigError(name, 'must be at least 32 characters');
  return value;
}

/** Variables every service reads; each service adds its own on top. */
export function loadCommonConfig(service: ServiceName, env: Env = process.env): CommonConfig {
  const algorithm = readString(env, 'JWT_ALGORITHM', 'HS256').toUpperCase() as SigningAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) throw new ConfigError('JWT_ALGORITHM', `must be one of ${ALGORITHMS.join(', ')}`);
  const portVariable = `${service.toUpperCase()}_PORT`;
  const authUrl = readUrl(env, 'AUTH_URL', `http://127.0.0.1:${SERVICE_PORTS.auth}`);
  return {
    service,
    host: readString(env, 'HOST', '127.0.0.1'),
    port: readInt(env, portVariable, readInt(env, 'PORT', SERVICE_PORTS[service], { min: 0, max: 65535 }), { min: 0, max: 65535 }),
    logLevel: readString(env, 'LOG_LEVEL', 'info'),
    databaseUrl: readOptional(env, 'DATABASE_URL'),
    redisUrl: readOptional(env, 'REDIS_URL'),
    jwt: {
      algorithm,
      secret: readSecret(env, 'JWT_SECRET', algorithm === 'HS256'),
      issuer: readString(env, 'JWT_ISSUER', 'heartguard-auth'),
      audience: readString(env, 'JWT_AUDIENCE', 'heartguard'),
      jwksUrl: readUrl(env, 'AUTH_JWKS_URL', `${authUrl}/auth/.well-known/jwks.json`),
    },
    serviceTokenSecret: readSecret(env, 'SERVICE_TOKEN_SECRET', true)!,
    auditUrl: readUrl(env, 'AUDIT_URL', `http://127.0.0.1:${SERVICE_PORTS.audit}`),
    bodyLimitBytes: readInt(env, 'BODY_LIMIT_KB', 256, { min: 1, max: 65536 }) * 1024,
    shutdownGraceMs: readInt(env, 'SHUTDOWN_GRACE_MS', 10_000, { min: 0 }),
    accessLog: readBool(env, 'ACCESS_LOG', true),
  };
}
