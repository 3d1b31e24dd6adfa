import type { AuditEmitter } from '@heartguard/kit';
import { isOwnBucket, namedBucket, orgBucketPrefix } from './bucket-names.js';
import { TsErrors } from './timeseries-errors.js';
import type { BucketRecord, TimeseriesStore } from './timeseries-store.js';
import { parseRetentionSeconds } from './time-values.js';

export interface BucketDeps {
  store: TimeseriesStore;
  audit: AuditEmitter;
  defaultRetentionSeconds: number;
  maxRetentionSeconds: number;
}

export interface Caller {
  userId: string;
  orgId: string;
}

const MIN_RETENTION_SECONDS = 3600;

/** Retention "0" means infinite; otherwise between 1h (InfluxDB's minimum) and the configured maximum. */
export function resolveRetention(retention: string | undefined, deps: Pick<BucketDeps, 'defaultRetentionSeconds' | 'maxRetentionSeconds'>): number {
  if (retention === undefined) return deps.defaultRetentionSeconds;
  const seconds = parseRetentionSeconds(retention);
  const problem =
    seconds === undefined
      ? 'must be 0 (infinite) or a duration such as 12h, 30d or 52w'
      : seconds !== 0 && seconds < MIN_RETENTION_SECONDS
        ? 'must be 0 (infinite) or at least 1h'
        : seconds > deps.maxRetentionSeconds
          ? `must be at most ${Math.floor(deps.maxRetentionSeconds / 86_400)}d`
          : undefined;
  if (problem) throw TsErrors.invalidBucket(undefined, { details: [{ field: '/retention', problem }] });
  return seconds!;
}

export async function createOrgBucket(deps: BucketDeps, caller: Caller, request: { name: string; retention?: string }): Promise<BucketRecord> {
  const retentionSeconds = resolveRetention(request.retention, deps);
  const bucket = await deps.store.createBucket(namedBucket(caller.orgId, request.name), retentionSeconds);
  deps.audit.emit({
    action: 'timeseries.bucket.created',
    actor: caller.userId,
    org_id: caller.orgId,
    outcome: 'success',
    payload: { bucket: bucket.name, retention_seconds: bucket.retention_seconds },
  });
  return bucket;
}

export async function listOrgBuckets(deps: BucketDeps, orgId: string): Promise<{ buckets: BucketRecord[] }> {
  const buckets = await deps.store.listBuckets(orgBucketPrefix(orgId));
  return { buckets: buckets.filter((b) => isOwnBucket(orgId, b.name)) };
}

/** Another org's bucket, a malformed name and a missing bucket all look the same: 404. */
export async function deleteOrgBucket(deps: BucketDeps, caller: Caller, name: string): Promise<void> {
  if (!isOwnBucket(caller.orgId, name)) throw TsErrors.bucketNotFound();
  const deleted = await deps.store.deleteBucket(name);
  if (!deleted) throw TsErrors.bucketNotFound();
  deps.audit.emit({
    action: 'timeseries.bucket.deleted',
    actor: caller.userId,
    org_id: caller.orgId,
    outcome: 'success',
    payload: { bucket: name },
  });
}
