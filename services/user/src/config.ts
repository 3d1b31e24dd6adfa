import { loadCommonConfig, readInt, readUrl, SERVICE_PORTS, type CommonConfig, type Env } from '@heartguard/kit';

export interface UserConfig {
  common: CommonConfig;
  /** Base URL of the auth service, which owns identity (email, role, organization, name). */
  authUrl: string;
  /** How long an identity lookup may take before the request fails with USER_503. */
  identityTimeoutMs: number;
}

export function loadUserConfig(env: Env): UserConfig {
  return {
    common: loadCommonConfig('user', env),
    authUrl: readUrl(env, 'AUTH_URL', `http://127.0.0.1:${SERVICE_PORTS.auth}`).replace(/\/+$/, ''),
    identityTimeoutMs: readInt(env, 'IDENTITY_TIMEOUT_MS', 2000, { min: 100, max: 30_000 }),
  };
}
