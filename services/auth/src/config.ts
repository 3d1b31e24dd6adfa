import {
  ConfigError,
  loadCommonConfig,
  readDurationSeconds,
  readInt,
  readList,
  readOptional,
  readString,
  type CommonConfig,
  type Env,
  isUuid,
} from '@heartguard/kit';

export interface AuthConfig {
  common: CommonConfig;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  keyRotationSeconds: number;
  trustProxy: string[];
  bootstrap: {
    orgId: string;
    orgName: string;
    adminEmail: string | undefined;
    adminPassword: string | undefined;
  };
  loginGuard: {
    /** Failures allowed per account from one IP before backoff starts. */
    accountIpLimit: number;
    /** Failures allowed per account from all IPs (distributed guessing). */
    accountLimit: number;
    /** Failures allowed per IP across all accounts (credential stuffing). */
    ipLimit: number;
    windowSeconds: number;
    maxLockSeconds: number;
  };
}


export function loadAuthConfig(env: Env): AuthConfig {
  const common = loadCommonConfig('auth', env);
  const orgId = readString(env, 'BOOTSTRAP_ORG_ID', '00000000-0000-4000-8000-000000000001');
  if (!isUuid(orgId)) throw new ConfigError('BOOTSTRAP_ORG_ID', 'must be a UUID');
  const adminPassword = readOptional(env, 'BOOTSTRAP_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 12) throw new ConfigError('BOOTSTRAP_ADMIN_PASSWORD', 'must be at least 12 characters');
  return {
    common,
    accessTtlSeconds: readDurationSeconds(env, 'JWT_EXPIRES_IN', 15 * 60, { min: 60, max: 24 * 3600 }),
    refreshTtlSeconds: readDurationSeconds(env, 'REFRESH_TOKEN_TTL', 14 * 86400, { min: 300, max: 90 * 86400 }),
    keyRotationSeconds: readDurationSeconds(env, 'JWT_KEY_ROTATION', 30 * 86400, { min: 3600 }),
    trustProxy: readList(env, 'AUTH_TRUST_PROXY', ['loopback', 'uniquelocal']),
    bootstrap: {
      orgId,
      orgName: readString(env, 'BOOTSTRAP_ORG_NAME', 'HeartGuard'),
      adminEmail: readOptional(env, 'BOOTSTRAP_ADMIN_EMAIL')?.trim().toLowerCase(),
      adminPassword,
    },
    loginGuard: {
      accountIpLimit: readInt(env, 'LOGIN_MAX_FAILURES', 5, { min: 1 }),
      accountLimit: readInt(env, 'LOGIN_MAX_FAILURES_ACCOUNT', 50, { min: 1 }),
      ipLimit: readInt(env, 'LOGIN_MAX_FAILURES_IP', 30, { min: 1 }),
      windowSeconds: readDurationSeconds(env, 'LOGIN_FAILURE_WINDOW', 15 * 60, { min: 10 }),
      maxLockSeconds: readDurationSeconds(env, 'LOGIN_MAX_LOCK', 15 * 60, { min: 1 }),
    },
  };
}
