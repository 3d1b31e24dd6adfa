import { createHash, randomUUID } from 'node:crypto';
import { translateDbError } from '@heartguard/kit';
import { normalizeContentType, sniffContentType } from './content-sniffing.js';
import type { MediaDeps, UploadOutcome } from './deps.js';
import { MediaErrors } from './errors.js';
import { fitFileName, MAX_FILE_NAME_BYTES, sanitizeFileName, storableOriginalName } from './file-name.js';
import type { Caller } from './media-item.js';
import type { MediaItemRecord } from './repository.js';
import { BASE64_PROBLEMS, decodeStrictBase64, decodedLength } from './strict-base64.js';

export interface UploadRequest {
  file_name: string;
  content_type: string;
  data_base64: string;
}

// "<uuid>-" precedes the name in the last key segment, which must itself fit a filesystem name.
const KEY_NAME_BYTES = MAX_FILE_NAME_BYTES - 37;

export function objectKeyFor(caller: Caller, id: string, safeName: string): string {
  return `org_${caller.orgId}/user_${caller.userId}/${id}-${fitFileName(safeName, KEY_NAME_BYTES)}`;
}

interface CheckedUpload {
  fileName: string;
  contentType: string;
  bytes: Buffer;
}

/** Every reason to refuse an upload, decided before anything is written. */
function checkUpload(deps: MediaDeps, input: UploadRequest): CheckedUpload {
  const fileName = sanitizeFileName(input.file_name);
  if (!fileName) {
    throw MediaErrors.invalidUpload('file_name has no usable characters once paths and control characters are removed', {
      details: [{ field: '/file_name', problem: 'is empty after sanitizing' }],
    });
  }
  const { maxUploadBytes, allowedTypes } = deps.config;
  const size = decodedLength(input.data_base64);
  if (size > maxUploadBytes) throw MediaErrors.tooLarge(`The file is ${size} bytes; the limit is ${maxUploadBytes / (1024 * 1024)} MB`);
  const contentType = normalizeContentType(input.content_type);
  if (!(allowedTypes as string[]).includes(contentType)) {
    throw MediaErrors.unsupportedType(`content_type must be one of ${allowedTypes.join(', ')}`);
  }
  const { bytes, problem } = decodeStrictBase64(input.data_base64);
  if (problem) throw MediaErrors.invalidUpload('data_base64 is not strict base64', { details: [{ field: '/data_base64', problem: BASE64_PROBLEMS[problem] }] });
  const actual = sniffContentType(bytes);
  if (actual !== contentType) {
    throw MediaErrors.unsupportedType(actual ? `The file's content is ${actual}, not ${contentType}` : `The file's content is not ${contentType}`);
  }
  return { fileName, contentType, bytes };
}

/**
 * Stores the object, then records it. The two stay consistent: when the object cannot be
 * written no row is inserted, and when the row cannot be inserted the object is removed.
 */
export async function uploadMedia(deps: MediaDeps, caller: Caller, input: UploadRequest): Promise<MediaItemRecord> {
  const { store, repository, metrics, platform } = deps;
  const count = (outcome: UploadOutcome) => metrics.uploads.inc({ outcome });
  let checked: CheckedUpload;
  try {
    checked = checkUpload(deps, input);
  } catch (err) {
    const status = (err as { status?: number }).status;
    count(status === 413 ? 'too_large' : status === 415 ? 'unsupported_type' : 'invalid');
    throw err;
  }
  const { fileName, contentType, bytes } = checked;
  const id = randomUUID();
  const key = objectKeyFor(caller, id, fileName);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  try {
    await store.put({ key, bytes, contentType, fileName, sha256 });
  } catch (err) {
    count('store_error');
    // A failed write can still leave part of an object behind; the key is ours alone, so remove it.
    await store.delete(key).catch(() => undefined);
    throw MediaErrors.storeUnavailable(undefined, { cause: err });
  }

  let record: MediaItemRecord;
  try {
    record = await repository.insert({
      id,
      org_id: caller.orgId,
      uploaded_by: caller.userId,
      file_name: fileName,
      original_file_name: storableOriginalName(input.file_name),
      content_type: contentType,
      size_bytes: bytes.length,
      sha256,
      object_key: key,
    });
  } catch (err) {
    count('db_error');
    await store.delete(key).catch((cleanupErr: Error) => {
      platform.logger.error({ object_key: key, err: cleanupErr.message }, 'could not remove object after failed insert; it is orphaned');
    });
    throw translateDbError(err);
  }

  count('success');
  metrics.bytesUploaded.inc(bytes.length);
  platform.audit.emit({
    action: 'media.uploaded',
    actor: caller.userId,
    org_id: caller.orgId,
    outcome: 'success',
    payload: { id, object_key: key, content_type: contentType, size_bytes: bytes.length, sha256 },
  });
  return record;
}
