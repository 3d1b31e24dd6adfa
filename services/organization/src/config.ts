import { ConfigError, loadCommonConfig, readString, type CommonConfig, type Env, isUuid } from '@heartguard/kit';

export const DEFAULT_BOOTSTRAP_ORG_ID = '00000000-0000-4000-8000-000000000001';

export interface OrganizationConfig {
  common: CommonConfig;
  /** Created at start-up if missing (never overwritten), so the bootstrap admin has a home. */
  bootstrapOrg: { id: string; name: string };
}

export function loadOrganizationConfig(env: Env): OrganizationConfig {
  const id = readString(env, 'BOOTSTRAP_ORG_ID', DEFAULT_BOOTSTRAP_ORG_ID).toLowerCase();
  if (!isUuid(id)) throw new ConfigError('BOOTSTRAP_ORG_ID', 'must be a UUID');
  const name = readString(env, 'BOOTSTRAP_ORG_NAME', 'HeartGuard').trim();
  if (name.length < 1 || name.length > 200) throw new ConfigError('BOOTSTRAP_ORG_NAME', 'must be 1 to 200 characters');
  return { common: loadCommonConfig('organization', env), bootstrapOrg: { id, name } };
}
