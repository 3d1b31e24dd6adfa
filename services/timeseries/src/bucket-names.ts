import type { TokenClaims } from '@heartguard/kit';
import { TsErrors } from './timeseries-errors.js';

/**
 * Tenancy lives in the bucket name: `org_<org_id>` (the organization's default bucket) or
 * `org_<org_id>_<name>`. Whatever a caller names, only names under its own token's org prefix
 * are ever passed to a store, so another tenant's bucket is indistinguishable from a missing one.
 */
const ORG_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const BUCKET_SUFFIX_PATTERN = /^[a-z0-9_-]{1,40}$/;
export const BUCKET_NAME_PATTERN = /^org_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[a-z0-9_-]{1,40})?$/;

export function callerOrgId(auth: TokenClaims | undefined): string {
  const orgId = typeof auth?.org_id === 'string' ? auth.org_id.toLowerCase() : '';
  if (!ORG_ID_PATTERN.test(orgId)) throw TsErrors.noOrganization();
  return orgId;
}

export function defaultBucketName(orgId: string): string {
  return `org_${orgId}`;
}

export function namedBucket(orgId: string, suffix: string): string {
  return `org_${orgId}_${suffix}`;
}

/** The org prefix that every bucket of the organization starts with (for listing). */
export function orgBucketPrefix(orgId: string): string {
  return `org_${orgId}`;
}

export function orgIdOfBucket(name: string): string {
  return name.slice(4, 40);
}

/** True only for the org's default bucket or a well-formed `org_<org_id>_<name>`. */
export function isOwnBucket(orgId: string, name: string): boolean {
  const prefix = defaultBucketName(orgId);
  if (name === prefix) return true;
  return name.startsWith(`${prefix}_`) && BUCKET_SUFFIX_PATTERN.test(name.slice(prefix.length + 1));
}

/** Resolves the bucket a request names (or the default) and refuses anything outside the caller's org. */
export function resolveOwnBucket(orgId: string, requested: string | undefined): string {
  const name = requested ?? defaultBucketName(orgId);
  if (!isOwnBucket(orgId, name)) throw TsErrors.bucketNotFound();
  return name;
}
