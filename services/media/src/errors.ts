import { createError } from '@heartguard/kit';

/** The MEDIA_ rows of the error-code table (NOTES.md). */
export const MediaErrors = {
  invalidUpload: createError('MEDIA_422', 422, 'Upload failed validation'),
  tooLarge: createError('MEDIA_413', 413, 'File is larger than the upload limit'),
  unsupportedType: createError('MEDIA_415', 415, 'File type is not accepted'),
  linkInvalid: createError('MEDIA_403', 403, 'Download link is invalid or has expired'),
  notFound: createError('MEDIA_404', 404, 'Media item not found'),
  storeUnavailable: createError('MEDIA_503', 503, 'Object storage is unavailable; nothing was stored'),
} as const;
