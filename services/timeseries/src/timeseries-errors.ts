import { createError } from '@heartguard/kit';

/** The TS_ rows of the error-code table (NOTES.md, PLAN.md). */
export const TsErrors = {
  malformedLineProtocol: createError('TS_400', 400, 'Line protocol body is malformed'),
  noOrganization: createError('TS_403', 403, 'The token carries no organization; time series belong to organizations'),
  bucketNotFound: createError('TS_404', 404, 'Bucket not found'),
  bucketExists: createError('TS_409', 409, 'A bucket with this name already exists'),
  batchTooLarge: createError('TS_413', 413, 'Too many points in one batch'),
  invalidPoints: createError('TS_422', 422, 'One or more points are invalid; nothing was written'),
  invalidQuery: createError('TS_424', 422, 'The query is invalid'),
  resultTooLarge: createError('TS_425', 422, 'The query matches too many points; use an aggregate with a window or a shorter range'),
  invalidBucket: createError('TS_426', 422, 'The bucket definition is invalid'),
  backendThrottled: createError('TS_429', 429, 'The time-series backend is throttling requests; retry later'),
  backendRejected: createError('TS_502', 502, 'The time-series backend rejected the request'),
  backendUnavailable: createError('TS_503', 503, 'The time-series backend is unavailable'),
  backendTimeout: createError('TS_504', 504, 'The time-series backend did not answer in time'),
} as const;
