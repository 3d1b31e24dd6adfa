import type { OrganizationFields, OrganizationRecord, PolicySettings } from './repository.js';

/** A validated PUT /organization body (schema organization-update). */
export interface OrganizationUpdate {
  name: string;
  policies?: string;
  contact_email?: string | null;
  policy_settings?: Partial<PolicySettings>;
  version?: number;
}

const SETTING_KEYS: Array<keyof PolicySettings> = [
  'password_min_length',
  'session_timeout_minutes',
  'data_retention_days',
  'mfa_required',
  'allowed_upload_types',
];

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

/**
 * Applies an update to the stored organization: fields the body names replace the stored ones,
 * fields it leaves out keep their value. Returns the new fields and the names of those that
 * actually changed (for the audit event and to skip no-op writes).
 */
export function mergeOrganizationUpdate(
  current: OrganizationRecord,
  update: OrganizationUpdate,
): { fields: OrganizationFields; changed: string[] } {
  const fields: OrganizationFields = {
    name: update.name,
    policies: update.policies ?? current.policies,
    // "" clears the address: XML cannot send null, so both mean "none".
    contact_email: update.contact_email === undefined ? current.contact_email : update.contact_email || null,
    policy_settings: { ...current.policy_settings, ...update.policy_settings },
  };
  const changed: string[] = [];
  for (const key of ['name', 'policies', 'contact_email'] as const) {
    if (fields[key] !== current[key]) changed.push(key);
  }
  for (const key of SETTING_KEYS) {
    if (!sameValue(fields.policy_settings[key], current.policy_settings[key])) changed.push(`policy_settings.${key}`);
  }
  return { fields, changed };
}
