import { hasCode } from '@heartguard/kit';
import { defaultBucketName, resolveOwnBucket } from './bucket-names.js';
import { assertConsistentFieldTypes, toTimePoints, type IncomingPoint } from './point-validation.js';
import { TsErrors } from './timeseries-errors.js';
import type { TimeseriesMetrics } from './timeseries-metrics.js';
import type { BucketRecord, TimeseriesStore } from './timeseries-store.js';
import { nowMicros } from './time-values.js';

export interface WriteDeps {
  store: TimeseriesStore;
  metrics: TimeseriesMetrics;
  defaultRetentionSeconds: number;
  maxFutureSeconds: number;
}

export interface WriteResult {
  success: true;
  inserted: number;
  bucket: string;
}

/** The org's default bucket appears on its first write, with TS_DEFAULT_RETENTION. */
async function ensureDefaultBucket(deps: WriteDeps, name: string): Promise<BucketRecord> {
  try {
    return await deps.store.createBucket(name, deps.defaultRetentionSeconds);
  } catch (err) {
    if (!hasCode(err, TsErrors.bucketExists)) throw err;
    const existing = await deps.store.getBucket(name);
    if (!existing) throw err;
    return existing;
  }
}

/**
 * Writes one batch into a bucket of the caller's organization, all or nothing: every point is
 * checked (times against the bucket's retention and the clock) before the store sees any.
 */
export async function writeBatch(deps: WriteDeps, orgId: string, requested: string | undefined, incoming: IncomingPoint[]): Promise<WriteResult> {
  const bucket = resolveOwnBucket(orgId, requested);
  const isDefault = bucket === defaultBucketName(orgId);
  const existing = await deps.store.getBucket(bucket);
  if (!existing && !isDefault) throw TsErrors.bucketNotFound();
  // Validate before creating the default bucket: a rejected batch leaves nothing behind.
  const points = toTimePoints(incoming, {
    nowUs: nowMicros(),
    retentionSeconds: existing?.retention_seconds ?? deps.defaultRetentionSeconds,
    maxFutureSeconds: deps.maxFutureSeconds,
  });
  if (!existing) {
    assertConsistentFieldTypes(points);
    await ensureDefaultBucket(deps, bucket);
  }
  let inserted: number;
  try {
    inserted = await deps.store.writePoints(bucket, points);
  } catch (err) {
    // The default bucket may have been deleted between the lookup and the write.
    if (!(isDefault && hasCode(err, TsErrors.bucketNotFound))) throw err;
    await ensureDefaultBucket(deps, bucket);
    inserted = await deps.store.writePoints(bucket, points);
  }
  deps.metrics.pointsWritten.inc({ store: deps.store.kind }, inserted);
  return { success: true, inserted, bucket };
}
