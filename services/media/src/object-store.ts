import type { CheckOutcome } from '@heartguard/kit';

export interface PutObjectInput {
  key: string;
  bytes: Buffer;
  contentType: string;
  /** Sanitized name offered when the object is downloaded. */
  fileName: string;
  sha256: string;
}

export interface SignedReadUrl {
  url: string;
  expiresAt: Date;
}

/**
 * Where uploaded bytes live. Google Cloud Storage in production, a local directory by default;
 * the use cases see only this interface.
 */
export interface ObjectStore {
  readonly kind: 'gcs' | 'local';
  /** Writes the whole object or fails; a failed put may leave a partial object for delete() to remove. */
  put(input: PutObjectInput): Promise<void>;
  /** Removes the object; removing one that is already gone succeeds. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** A time-limited link that lets its holder read the object without a bearer token. */
  signedReadUrl(key: string, ttlSeconds: number): Promise<SignedReadUrl>;
  /** Readiness: 'ok', or degraded/down with a reason. */
  check(): Promise<CheckOutcome>;
}

/** Object keys are built by us, but are re-checked wherever one becomes a path or URL. */
export function isSafeObjectKey(key: string): boolean {
  if (key.length === 0 || Buffer.byteLength(key, 'utf8') > 1024) return false;
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}
