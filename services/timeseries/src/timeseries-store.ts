import type { CheckOutcome } from '@heartguard/kit';

export type FieldValue = number | boolean | string;

/** A validated point: names checked, time resolved to epoch microseconds. */
export interface TimePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  timeUs: number;
}

export interface BucketRecord {
  name: string;
  org_id: string;
  /** 0 means infinite retention. */
  retention_seconds: number;
  created_at: string;
}

export const AGGREGATES = ['mean', 'min', 'max', 'sum', 'count'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface SeriesQuery {
  bucket: string;
  measurement: string;
  field?: string;
  /** Inclusive start, exclusive stop (InfluxDB's range() semantics), epoch microseconds. */
  startUs: number;
  stopUs: number;
  /** Equality filters on tags; a series matches when it carries all of them. */
  tags: Record<string, string>;
  aggregate?: { fn: Aggregate; window: string; windowSeconds: number };
  /** Most points the caller accepts; a store throws TS_425 rather than truncate. */
  limit: number;
}

export interface SeriesPoint {
  time: string;
  value: FieldValue;
}

export interface Series {
  tags: Record<string, string>;
  field: string;
  points: SeriesPoint[];
}

/**
 * The contract both backends keep (InfluxDB 2 in production, PostgreSQL embedded); the
 * service's use cases and test/store-contract.test.ts speak only to this.
 */
export interface TimeseriesStore {
  readonly kind: 'postgres' | 'influxdb';
  ready(): Promise<CheckOutcome>;
  /** All-or-nothing: either every point is stored or none is. Returns the number of points. */
  writePoints(bucket: string, points: readonly TimePoint[]): Promise<number>;
  query(spec: SeriesQuery): Promise<Series[]>;
  /** Throws TS_409 when the name is taken. */
  createBucket(name: string, retentionSeconds: number): Promise<BucketRecord>;
  getBucket(name: string): Promise<BucketRecord | undefined>;
  /** Buckets whose names start with orgPrefix (callers still filter by exact ownership). */
  listBuckets(orgPrefix: string): Promise<BucketRecord[]>;
  /** Deletes the bucket and its points; false when there was none. */
  deleteBucket(name: string): Promise<boolean>;
  close(): Promise<void>;
}

function tagsKey(tags: Record<string, string>): string {
  return JSON.stringify(Object.keys(tags).sort().map((k) => [k, tags[k]]));
}

/** Deterministic series order for both stores: by field, then by tag set. */
export function sortSeries(series: Series[]): Series[] {
  const keyed = series.map((s) => ({ s, key: `${s.field}\u0000${tagsKey(s.tags)}` }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.s);
}
