import { pino, destination as pinoDestination, type Logger, type DestinationStream } from 'pino';
import { currentContext } from './request-context.js';

export type { Logger };

// Keys whose values are secrets or bulk payloads wherever they appear in a logged object.
const SECRET_KEYS = [
  'password',
  'new_password',
  'token',
  'access_token',
  'refresh_token',
  'authorization',
  'cookie',
  'data_base64',
  'secret',
  'client_secret',
];

const redactPaths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  service: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger({ service, level = 'info', destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: 'message',
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[REDACTED]' },
      mixin() {
        const ctx = currentContext();
        if (!ctx) return {};
        return ctx.userId ? { request_id: ctx.requestId, user_id: ctx.userId } : { request_id: ctx.requestId };
      },
    },
    destination ?? pinoDestination({ sync: false }),
  );
}

const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** Masks tokens inside free text (error messages, URLs) before it reaches a log line. */
export function redactText(text: string): string {
  return text.replace(BEARER, '$1[REDACTED]').replace(JWT_LIKE, '[REDACTED_JWT]');
}
