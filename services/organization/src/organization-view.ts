import type { OrganizationRecord } from './repository.js';

// Key order is the XSD's element order (xs:sequence), so views are built field by field.

export function toOrganizationView(org: OrganizationRecord): Record<string, unknown> {
  return {
    id: org.id,
    name: org.name,
    policies: org.policies,
    contact_email: org.contact_email,
    policy_settings: {
      password_min_length: org.policy_settings.password_min_length,
      session_timeout_minutes: org.policy_settings.session_timeout_minutes,
      data_retention_days: org.policy_settings.data_retention_days,
      mfa_required: org.policy_settings.mfa_required,
      allowed_upload_types: org.policy_settings.allowed_upload_types,
    },
    version: org.version,
    created_at: org.created_at.toISOString(),
    updated_at: org.updated_at.toISOString(),
  };
}

export function toPoliciesView(org: OrganizationRecord): Record<string, unknown> {
  return {
    org_id: org.id,
    statement: org.policies,
    password_min_length: org.policy_settings.password_min_length,
    session_timeout_minutes: org.policy_settings.session_timeout_minutes,
    data_retention_days: org.policy_settings.data_retention_days,
    mfa_required: org.policy_settings.mfa_required,
    allowed_upload_types: org.policy_settings.allowed_upload_types,
    version: org.version,
    updated_at: org.updated_at.toISOString(),
  };
}

/** Strong ETag over the version, so clients can send it back as If-Match. */
export function etagFor(org: OrganizationRecord): string {
  return `"${org.version}"`;
}
