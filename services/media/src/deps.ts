import { Counter, type Platform } from '@heartguard/kit';
import type { MediaConfig } from './config.js';
import type { LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import type { MediaRepository } from './repository.js';

export type UploadOutcome = 'success' | 'invalid' | 'too_large' | 'unsupported_type' | 'store_error' | 'db_error';

export interface MediaMetrics {
  uploads: Counter<'outcome'>;
  bytesUploaded: Counter;
  deletes: Counter<'outcome'>;
  linksIssued: Counter;
  fileDownloads: Counter<'outcome'>;
}

export function createMediaMetrics(platform: Platform): MediaMetrics {
  const registers = [platform.metrics.registry];
  return {
    uploads: new Counter({ name: 'media_uploads_total', help: 'Upload attempts that reached the media use case, by outcome', labelNames: ['outcome'] as const, registers }),
    bytesUploaded: new Counter({ name: 'media_bytes_uploaded_total', help: 'Decoded bytes of successfully stored uploads', registers }),
    deletes: new Counter({ name: 'media_deletes_total', help: 'Admin deletes by outcome (deleted, or already absent)', labelNames: ['outcome'] as const, registers }),
    linksIssued: new Counter({ name: 'media_download_links_issued_total', help: 'Signed download links handed out', registers }),
    fileDownloads: new Counter({ name: 'media_file_downloads_total', help: 'Requests for locally stored files by outcome (served, denied, missing)', labelNames: ['outcome'] as const, registers }),
  };
}

export interface MediaDeps {
  platform: Platform;
  config: MediaConfig;
  repository: MediaRepository;
  store: ObjectStore;
  /** Set when objects live in the local directory: the service then serves the signed links itself. */
  localFiles: LocalObjectStore | undefined;
  metrics: MediaMetrics;
}
