import { ConfigError, createDataSource, createPlatform, migrate, serve, type StartOptions, type StartService, type StartedService } from '@heartguard/kit';
import { createApp } from './app.js';
import { loadMediaConfig, type MediaConfig } from './config.js';
import { createMediaMetrics } from './deps.js';
import { createStorageClient, GcsObjectStore } from './gcs-object-store.js';
import { LocalObjectStore } from './local-object-store.js';
import { CreateMediaItems1764000000000 } from './migrations/1764000000000-create-media-items.js';
import type { ObjectStore } from './object-store.js';
import { createMediaRepository } from './repository.js';

export async function openObjectStore(config: MediaConfig): Promise<ObjectStore> {
  const { store } = config;
  if (store.kind === 'gcs') {
    return new GcsObjectStore(
      createStorageClient({ projectId: store.projectId, apiEndpoint: store.apiEndpoint, keyFilename: store.keyFilename }),
      store.bucket,
    );
  }
  return LocalObjectStore.open({ dir: store.dir, signingKey: store.signingKey, publicUrl: config.publicUrl });
}

export interface MediaStartOptions extends StartOptions {
  /** Replaces the configured object store (tests use it to inject failures). */
  wrapStore?: (store: ObjectStore) => ObjectStore;
}

export async function startMedia({ env, shared, port, wrapStore }: MediaStartOptions): Promise<StartedService> {
  const config = loadMediaConfig(env);
  const { common } = config;
  if (!common.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  const db = createDataSource({ url: common.databaseUrl, service: 'media', migrations: [CreateMediaItems1764000000000] });
  await db.initialize();
  let opened: ObjectStore;
  try {
    await migrate(db);
    opened = await openObjectStore(config);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const store = wrapStore ? wrapStore(opened) : opened;
  const platform = createPlatform(common, shared);
  if (config.store.kind === 'local') {
    platform.logger.info({ dir: config.store.dir, public_url: config.publicUrl }, 'GCS_BUCKET not set: storing media in a local directory');
    if (config.store.signingKeyDerived) {
      platform.logger.warn('MEDIA_URL_SIGNING_SECRET not set: download links are signed with a key derived from SERVICE_TOKEN_SECRET');
    }
  } else {
    platform.logger.info({ bucket: config.store.bucket, api_endpoint: config.store.apiEndpoint ?? 'default' }, 'storing media in Google Cloud Storage');
  }
  const app = createApp({ platform, config, repository: createMediaRepository(db),
    store,
    localFiles: opened instanceof LocalObjectStore ? opened : undefined,
    metrics: createMediaMetrics(platform) });
  return serve(platform, app, port ?? common.port, [() => db.destroy()]);
}

export const start: StartService = (options) => startMedia(options);
