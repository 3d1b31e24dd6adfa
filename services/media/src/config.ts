import { existsSync } from 'node:fs';
import { hkdfSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadCommonConfig,
  readDurationSeconds,
  readInt,
  readList,
  readOptional,
  readString,
  readUrl,
  type CommonConfig,
  type Env,
} from '@heartguard/kit';
import { SNIFFABLE_TYPES, type SniffableType } from './content-sniffing.js';

/** V4 signed URLs cannot outlive seven days; the local store keeps the same ceiling. */
export const MAX_SIGNED_URL_TTL_SECONDS = 7 * 24 * 3600;

export type StoreConfig =
  | {
      kind: 'gcs';
      bucket: string;
      projectId: string | undefined;
      apiEndpoint: string | undefined;
      keyFilename: string | undefined;
    }
  | {
      kind: 'local';
      dir: string;
      signingKey: Buffer;
      /** True when the key was derived from SERVICE_TOKEN_SECRET because MEDIA_URL_SIGNING_SECRET is unset. */
      signingKeyDerived: boolean;
    };

export interface MediaConfig {
  common: CommonConfig;
  maxUploadBytes: number;
  /** Body limit for POST /media/upload: base64 is 4/3 of the decoded size, plus room for the envelope. */
  uploadBodyLimitBytes: number;
  allowedTypes: SniffableType[];
  signedUrlTtlSeconds: number;
  /** Base of local download links; clients reach them through the gateway. */
  publicUrl: string;
  store: StoreConfig;
}

export const DEFAULT_LOCAL_DIR = fileURLToPath(new URL('../../../.data/media', import.meta.url));
const ENVELOPE_ALLOWANCE_BYTES = 64 * 1024;

function isSniffable(type: string): type is SniffableType {
  return (SNIFFABLE_TYPES as readonly string[]).includes(type);
}

function readAllowedTypes(env: Env): SniffableType[] {
  const types = readList(env, 'MEDIA_ALLOWED_TYPES', [...SNIFFABLE_TYPES]).map((t) => t.toLowerCase());
  if (types.length === 0) throw new ConfigError('MEDIA_ALLOWED_TYPES', 'must name at least one type');
  for (const type of types) {
    // A type we cannot recognise by its bytes could never pass the magic-number check.
    if (!isSniffable(type)) throw new ConfigError('MEDIA_ALLOWED_TYPES', `contains "${type}"; supported: ${SNIFFABLE_TYPES.join(', ')}`);
  }
  return [...new Set(types)] as SniffableType[];
}

function readStore(env: Env, common: CommonConfig): StoreConfig {
  const bucket = readOptional(env, 'GCS_BUCKET');
  if (bucket) {
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket)) throw new ConfigError('GCS_BUCKET', 'is not a valid bucket name');
    const keyFilename = readOptional(env, 'GOOGLE_APPLICATION_CREDENTIALS');
    if (keyFilename !== undefined && !existsSync(keyFilename)) {
      throw new ConfigError('GOOGLE_APPLICATION_CREDENTIALS', `points to a missing file (${keyFilename})`);
    }
    const apiEndpoint = readOptional(env, 'GCS_API_ENDPOINT');
    return {
      kind: 'gcs',
      bucket,
      projectId: readOptional(env, 'GCS_PROJECT_ID'),
      apiEndpoint: apiEndpoint === undefined ? undefined : readUrl(env, 'GCS_API_ENDPOINT').replace(/\/+$/, ''),
      keyFilename,
    };
  }
  const secret = readOptional(env, 'MEDIA_URL_SIGNING_SECRET');
  if (secret !== undefined && secret.length < 32) throw new ConfigError('MEDIA_URL_SIGNING_SECRET', 'must be at least 32 characters');
  return {
    kind: 'local',
    dir: readString(env, 'MEDIA_LOCAL_DIR', DEFAULT_LOCAL_DIR),
    signingKey: secret
      ? Buffer.from(secret, 'utf8')
      : // A separate key per purpose: a leaked link key must not mint service tokens, and vice versa.
        Buffer.from(hkdfSync('sha256', common.serviceTokenSecret, 'heartguard-media', 'download-link-signing-v1', 32)),
    signingKeyDerived: secret === undefined,
  };
}

export function loadMediaConfig(env: Env): MediaConfig {
  const common = loadCommonConfig('media', env);
  const maxUploadMb = readInt(env, 'MAX_UPLOAD_MB', 10, { min: 1, max: 100 });
  const maxUploadBytes = maxUploadMb * 1024 * 1024;
  return {
    common,
    maxUploadBytes,
    uploadBodyLimitBytes: Math.ceil(maxUploadBytes / 3) * 4 + ENVELOPE_ALLOWANCE_BYTES,
    allowedTypes: readAllowedTypes(env),
    signedUrlTtlSeconds: readDurationSeconds(env, 'SIGNED_URL_TTL', 900, { min: 1, max: MAX_SIGNED_URL_TTL_SECONDS }),
    publicUrl: readUrl(env, 'MEDIA_PUBLIC_URL', 'http://localhost:5000').replace(/\/+$/, ''),
    store: readStore(env, common),
  };
}
