import { createError } from '@heartguard/kit';

/** The USER_ rows of PLAN.md's error table. */
export const UserErrors = {
  badPrecondition: createError('USER_400', 400, 'If-Match must be a quoted preferences version number'),
  notFound: createError('USER_404', 404, 'User not found'),
  versionConflict: createError('USER_409', 409, 'The preferences were changed by someone else; reload them and retry'),
  identityUnavailable: createError('USER_503', 503, 'The identity service is unavailable'),
} as const;
