import { ConfigError, createDataSource, createPlatform, migrate, serve, type StartService } from '@heartguard/kit';
import { setLogger } from '@influxdata/influxdb-client';
import { createApp } from './app.js';
import { loadTimeseriesConfig } from './config.js';
import { createInfluxStore } from './influx-store.js';
import { CreateTimeseriesTables1764500000000 } from './migrations/create-timeseries-tables-1764500000000.js';
import { createPostgresStore } from './postgres-store.js';
import { createTimeseriesMetrics } from './timeseries-metrics.js';
import type { TimeseriesStore } from './timeseries-store.js';

export const TIMESERIES_MIGRATIONS = [CreateTimeseriesTables1764500000000];

export const start: StartService = async ({ env, shared, port }) => {
  const config = loadTimeseriesConfig(env);
  const platform = createPlatform(config.common, shared);
  const closers: Array<() => Promise<unknown>> = [];
  let store: TimeseriesStore;
  if (config.influx) {
    // The client logs to the console by default; its warnings belong in our JSON log.
    setLogger({
      error: (message, err) => platform.logger.error({ err: err instanceof Error ? err.message : err }, `influxdb-client: ${message}`),
      warn: (message, err) => platform.logger.warn({ err: err instanceof Error ? err.message : err }, `influxdb-client: ${message}`),
    });
    store = createInfluxStore(config.influx);
    platform.logger.info({ url: config.influx.url, org: config.influx.org }, 'time-series store: InfluxDB 2');
  } else {
    if (!config.common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required when INFLUX_URL is not set (the embedded store lives in PostgreSQL)');
    const db = createDataSource({
      url: config.common.databaseUrl,
      service: 'timeseries',
      migrations: TIMESERIES_MIGRATIONS,
      poolSize: config.dbPoolSize,
    });
    await db.initialize();
    try {
      await migrate(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    closers.push(() => db.destroy());
    store = createPostgresStore(db, { retentionSweepSeconds: config.retentionSweepSeconds, logger: platform.logger });
    platform.logger.info('time-series store: PostgreSQL (embedded default; set INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG for InfluxDB 2)');
  }
  closers.unshift(() => store.close());
  const metrics = createTimeseriesMetrics(platform.metrics);
  const app = createApp({ platform, config, store, metrics });
  return serve(platform, app, port ?? config.common.port, closers);
};
