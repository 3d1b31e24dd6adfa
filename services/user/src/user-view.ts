import type { Identity } from './identity-client.js';
import type { PreferenceValue, Preferences } from './preference-bounds.js';
import type { PreferencesRecord } from './repository.js';

/**
 * Identity from auth joined with the stored preferences. Key order is the XSD's element order;
 * preferences never stored read as {} with version 0 and updated_at null.
 */
export function toUserView(identity: Identity, stored: PreferencesRecord | undefined): Record<string, unknown> {
  return {
    id: identity.id,
    email: identity.email,
    full_name: identity.full_name,
    role: identity.role,
    org_id: identity.org_id,
    preferences: stored?.preferences ?? {},
    version: stored?.version ?? 0,
    updated_at: stored ? stored.updated_at.toISOString() : null,
    created_at: identity.created_at,
  };
}

export function etagFor(stored: PreferencesRecord | undefined): string {
  return `"${stored?.version ?? 0}"`;
}

// jsonb does not keep key order, so equality is structural rather than textual.
function sameValue(a: PreferenceValue | undefined, b: PreferenceValue | undefined): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => sameValue(a[key], b[key]));
}

/** Top-level preference keys added, removed or changed: the audit payload (values may be personal). */
export function changedPreferenceKeys(previous: Preferences, next: Preferences): string[] {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  return [...keys].filter((key) => !sameValue(previous[key], next[key])).sort();
}
