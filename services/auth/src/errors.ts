import { createError } from '@heartguard/kit';

export const AuthErrors = {
  invalidCredentials: createError('AUTH_001', 401, 'Invalid email or password'),
  locked: createError('AUTH_006', 429, 'Too many failed attempts; try again later'),
  invalidRefresh: createError('AUTH_007', 401, 'Refresh token is invalid, expired or already used'),
  emailTaken: createError('AUTH_008', 409, 'An account with this email already exists'),
  roleNotAllowed: createError('AUTH_009', 403, 'Only an admin may register admin or manager accounts'),
  userNotFound: createError('AUTH_010', 404, 'User not found'),
} as const;
