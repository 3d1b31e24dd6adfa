import { createError } from '@heartguard/kit';

/** The AUDIT_ rows of the error catalogue (PLAN.md). */
export const AuditErrors = {
  eventRejected: createError('AUDIT_001', 422, 'Audit event rejected'),
  badCursor: createError('AUDIT_002', 400, 'Cursor is malformed'),
  badFilter: createError('AUDIT_003', 400, 'Query filters are invalid'),
  serviceMismatch: createError('AUDIT_004', 403, 'A service may only record events under its own name'),
} as const;
