import { Storage, type Bucket } from '@google-cloud/storage';
import type { CheckOutcome } from '@heartguard/kit';
import { attachmentDisposition } from './file-name.js';
import { isSafeObjectKey, type ObjectStore, type PutObjectInput, type SignedReadUrl } from './object-store.js';

export interface GcsStorageOptions {
  projectId?: string;
  /** JSON API origin, e.g. an emulator; requests to a custom endpoint are sent without OAuth. */
  apiEndpoint?: string;
  keyFilename?: string;
}

/** The client as production uses it: bounded retries and timeouts instead of the 10-minute defaults. */
export function createStorageClient({ projectId, apiEndpoint, keyFilename }: GcsStorageOptions): Storage {
  return new Storage({
    ...(projectId ? { projectId } : {}),
    ...(apiEndpoint ? { apiEndpoint } : {}),
    ...(keyFilename ? { keyFilename } : {}),
    timeout: 30_000,
    retryOptions: { autoRetry: true, maxRetries: 2, maxRetryDelay: 4, totalTimeout: 30 },
  });
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

const CHECK_BUDGET_MS = 1000;

/**
 * Google Cloud Storage through the official client: simple (non-resumable) uploads, deletes
 * that tolerate a missing object, V4 signed read URLs.
 */
export class GcsObjectStore implements ObjectStore {
  readonly kind = 'gcs' as const;
  private readonly bucket: Bucket;

  constructor(storage: Storage, bucketName: string) {
    this.bucket = storage.bucket(bucketName);
  }

  async put({ key, bytes, contentType, fileName, sha256 }: PutObjectInput): Promise<void> {
    if (!isSafeObjectKey(key)) throw new Error('unsafe object key');
    await this.bucket.file(key).save(bytes, {
      resumable: false,
      contentType,
      // ifGenerationMatch=0: only create, never overwrite; it also makes retries safe for the client.
      preconditionOpts: { ifGenerationMatch: 0 },
      validation: 'crc32c',
      metadata: {
        contentType,
        contentDisposition: attachmentDisposition(fileName),
        metadata: { sha256 },
      },
    });
  }

  async delete(key: string): Promise<void> {
    await this.bucket.file(key).delete({ ignoreNotFound: true });
  }

  async exists(key: string): Promise<boolean> {
    const [exists] = await this.bucket.file(key).exists();
    return exists;
  }

  async signedReadUrl(key: string, ttlSeconds: number): Promise<SignedReadUrl> {
    // Whole seconds on both ends, so X-Goog-Expires is exactly the configured TTL.
    const accessibleAt = Math.floor(Date.now() / 1000) * 1000;
    const expires = accessibleAt + ttlSeconds * 1000;
    const [url] = await this.bucket.file(key).getSignedUrl({ version: 'v4', action: 'read', accessibleAt, expires });
    return { url, expiresAt: new Date(expires) };
  }

  async check(): Promise<CheckOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'degraded', detail: 'bucket did not answer within 1 s' }), CHECK_BUDGET_MS);
    });
    const probe = this.bucket.exists().then(
      ([exists]): CheckOutcome => (exists ? 'ok' : { status: 'down', detail: `bucket ${this.bucket.name} does not exist` }),
      (err: unknown): CheckOutcome => {
        const status = statusOf(err);
        if (status === 401) return { status: 'down', detail: 'credentials rejected by Cloud Storage' };
        // Object-only roles cannot read bucket metadata; objects may still work, so not "down".
        if (status === 403) return { status: 'degraded', detail: 'bucket metadata not readable with these credentials' };
        return { status: 'degraded', detail: `bucket unreachable: ${err instanceof Error ? err.message.slice(0, 120) : 'error'}` };
      },
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
