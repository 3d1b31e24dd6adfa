import { loadCommonConfig, readDurationSeconds, readInt, type CommonConfig, type Env } from '@heartguard/kit';

export interface AuditConfig {
  common: CommonConfig;
  /** Body limit for POST /audit/events: a full batch is far larger than the mesh-wide default. */
  bodyLimitBytes: number;
  /** Largest serialized payload of one event; bigger ones are refused with AUDIT_001. */
  payloadMaxBytes: number;
  /** How far in the future a producer's occurred_at may lie (clock skew allowance). */
  maxClockSkewSeconds: number;
  dbPoolSize: number;
  /** Rows fetched per round trip while verifying the chain. */
  verifyChunkSize: number;
  /** Cap on rows the group-commit writer puts in one transaction. */
  maxRowsPerTransaction: number;
}

export function loadAuditConfig(env: Env = process.env): AuditConfig {
  return {
    common: loadCommonConfig('audit', env),
    bodyLimitBytes: readInt(env, 'AUDIT_BODY_LIMIT_KB', 8192, { min: 16, max: 65536 }) * 1024,
    payloadMaxBytes: readInt(env, 'AUDIT_PAYLOAD_MAX_BYTES', 16_384, { min: 256, max: 1_048_576 }),
    maxClockSkewSeconds: readDurationSeconds(env, 'AUDIT_MAX_CLOCK_SKEW', 3600, { min: 0, max: 7 * 86400 }),
    dbPoolSize: readInt(env, 'AUDIT_DB_POOL_SIZE', 10, { min: 2, max: 200 }),
    verifyChunkSize: readInt(env, 'AUDIT_VERIFY_CHUNK', 5000, { min: 100, max: 100_000 }),
    maxRowsPerTransaction: readInt(env, 'AUDIT_MAX_ROWS_PER_TX', 5000, { min: 1000, max: 50_000 }),
  };
}
