/**
 * One error factory for the whole mesh. Every error carries a stable code that clients
 * and tests match on; the HTTP status and message travel with it.
 */
export interface FieldProblem {
  field: string;
  problem: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: FieldProblem[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: FieldProblem[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export interface ErrorKind {
  readonly code: string;
  readonly status: number;
  (message?: string, options?: { details?: FieldProblem[]; headers?: Record<string, string>; cause?: unknown }): AppError;
}

export function createError(code: string, status: number, defaultMessage: string): ErrorKind {
  const make = (
    message?: string,
    options?: { details?: FieldProblem[]; headers?: Record<string, string>; cause?: unknown },
  ): AppError => new AppError(code, status, message ?? defaultMessage, options);
  return Object.assign(make, { code, status });
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError || (typeof err === 'object' && err !== null && (err as AppError).name === 'AppError');
}

export function hasCode(err: unknown, kind: ErrorKind): boolean {
  return isAppError(err) && err.code === kind.code;
}

/** Request-level errors shared by every service (the REQ_/SRV_ rows of PLAN.md's table). */
export const Errors = {
  malformedBody: createError('REQ_400', 400, 'Request body is malformed'),
  forbiddenXml: createError('REQ_401', 400, 'XML documents with DOCTYPE or entity declarations are refused'),
  forbiddenKey: createError('REQ_402', 400, 'Request body contains a forbidden key'),
  tooDeep: createError('REQ_403', 400, 'Request body is nested too deeply'),
  badPath: createError('REQ_404', 400, 'Request path is not in canonical form'),
  badQuery: createError('REQ_405', 400, 'Query parameters are invalid'),
  notFound: createError('REQ_410', 404, 'Resource not found'),
  methodNotAllowed: createError('REQ_411', 405, 'Method not allowed'),
  notAcceptable: createError('REQ_406', 406, 'Accept must allow application/json, application/xml or text/xml'),
  conflict: createError('REQ_409', 409, 'Conflicting state'),
  tooLarge: createError('REQ_413', 413, 'Request body is too large'),
  unsupportedMediaType: createError('REQ_415', 415, 'Content-Type must be application/json or application/xml'),
  validation: createError('REQ_422', 422, 'Request body failed validation'),
  unauthenticated: createError('AUTH_002', 401, 'Authentication required'),
  invalidToken: createError('AUTH_003', 401, 'Token is invalid or expired'),
  revokedToken: createError('AUTH_004', 401, 'Token has been revoked'),
  forbidden: createError('AUTH_005', 403, 'You do not have permission for this action'),
  unavailable: createError('SRV_503', 503, 'A dependency is unavailable'),
  internal: createError('SRV_500', 500, 'Internal server error'),
} as const;
