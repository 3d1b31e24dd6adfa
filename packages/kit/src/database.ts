import { DataSource, type MigrationInterface } from 'typeorm';
import { Errors } from './errors.js';

export const DB_SCHEMA = 'heartguard_core';

export interface DatabaseOptions {
  url: string;
  service: string;
  migrations: Array<new () => MigrationInterface>;
  poolSize?: number;
}

/**
 * One DataSource per service. Each service keeps its own migrations table so services can be
 * deployed and migrated independently; schema changes never come from ORM auto-sync.
 */
export function createDataSource({ url, service, migrations, poolSize = 10 }: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    schema: DB_SCHEMA,
    migrations,
    migrationsTableName: `migrations_${service}`,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: poolSize, connectionTimeoutMillis: 3000, application_name: `heartguard-${service}` },
  });
}

// Services migrate concurrently at boot; one advisory lock serialises them across processes.
const MIGRATION_LOCK = 727_001;

export async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS ${DB_SCHEMA}`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

export async function checkDatabase(dataSource: DataSource): Promise<'ok'> {
  await dataSource.query('SELECT 1');
  return 'ok';
}

/** Translates PostgreSQL errors into the error catalogue in one place. */
export function translateDbError(err: unknown, messages: { conflict?: string } = {}): unknown {
  const code = (err as { code?: string; driverError?: { code?: string } })?.driverError?.code ?? (err as { code?: string })?.code;
  if (code === '23505') return Errors.conflict(messages.conflict ?? 'A resource with these values already exists', { cause: err });
  if (code === '40001' || code === '40P01') return Errors.conflict('Concurrent update, please retry', { cause: err });
  if (code === '22P02') return Errors.notFound(undefined, { cause: err });
  return err;
}
