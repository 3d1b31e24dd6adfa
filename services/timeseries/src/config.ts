import {
  ConfigError,
  loadCommonConfig,
  readDurationSeconds,
  readInt,
  readOptional,
  readUrl,
  type CommonConfig,
  type Env,
} from '@heartguard/kit';

export interface InfluxConfig {
  url: string;
  token: string;
  org: string;
  timeoutMs: number;
}

export interface TimeseriesConfig {
  common: CommonConfig;
  /** Set when INFLUX_URL, INFLUX_TOKEN and INFLUX_ORG are all given; otherwise the PostgreSQL store is used. */
  influx: InfluxConfig | undefined;
  defaultRetentionSeconds: number;
  maxRetentionSeconds: number;
  maxBatchPoints: number;
  bodyLimitBytes: number;
  maxQueryRangeSeconds: number;
  maxQueryPoints: number;
  maxFutureSeconds: number;
  retentionSweepSeconds: number;
  dbPoolSize: number;
}

const TEN_YEARS = 3650 * 86_400;

function loadInflux(env: Env): InfluxConfig | undefined {
  const names = ['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG'] as const;
  const given = names.filter((name) => readOptional(env, name) !== undefined);
  if (given.length === 0) return undefined;
  // A half-configured InfluxDB would silently fall back to PostgreSQL; refuse to boot instead.
  const missing = names.find((name) => !given.includes(name));
  if (missing) throw new ConfigError(missing, `is required when ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} set`);
  return {
    url: readUrl(env, 'INFLUX_URL'),
    token: readOptional(env, 'INFLUX_TOKEN')!,
    org: readOptional(env, 'INFLUX_ORG')!,
    timeoutMs: readInt(env, 'INFLUX_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
  };
}

export function loadTimeseriesConfig(env: Env = process.env): TimeseriesConfig {
  const maxRetentionSeconds = readDurationSeconds(env, 'TS_MAX_RETENTION', TEN_YEARS, { min: 3600, max: TEN_YEARS });
  return {
    common: loadCommonConfig('timeseries', env),
    influx: loadInflux(env),
    defaultRetentionSeconds: readDurationSeconds(env, 'TS_DEFAULT_RETENTION', 30 * 86_400, { min: 3600, max: maxRetentionSeconds }),
    maxRetentionSeconds,
    maxBatchPoints: readInt(env, 'TS_MAX_BATCH_POINTS', 10_000, { min: 1, max: 100_000 }),
    bodyLimitBytes: readInt(env, 'TS_BODY_LIMIT_MB', 8, { min: 1, max: 256 }) * 1024 * 1024,
    maxQueryRangeSeconds: readDurationSeconds(env, 'TS_MAX_QUERY_RANGE', 31 * 86_400, { min: 60, max: TEN_YEARS }),
    maxQueryPoints: readInt(env, 'TS_MAX_QUERY_POINTS', 10_000, { min: 1, max: 1_000_000 }),
    maxFutureSeconds: readDurationSeconds(env, 'TS_MAX_FUTURE', 3600, { min: 0, max: 7 * 86_400 }),
    retentionSweepSeconds: readDurationSeconds(env, 'TS_RETENTION_SWEEP_INTERVAL', 300, { min: 1, max: 86_400 }),
    dbPoolSize: readInt(env, 'TS_DB_POOL_SIZE', 10, { min: 1, max: 100 }),
  };
}
