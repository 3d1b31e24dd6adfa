import { createError } from '@heartguard/kit';

/** The ORG_ rows of PLAN.md's error table. */
export const OrgErrors = {
  badPrecondition: createError('ORG_400', 400, 'If-Match must be a quoted version number and agree with the body version'),
  notFound: createError('ORG_404', 404, 'Organization not found'),
  versionConflict: createError('ORG_409', 409, 'The organization was changed by someone else; reload it and retry'),
} as const;
