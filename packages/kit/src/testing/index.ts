import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import type { AuditEmitter, AuditEventInput } from '../audit-emitter.js';
import type { Role } from '../jwt.js';
import { secretKey } from '../jwt.js';
import { loadSchemas, describeErrors, type SchemaRegistry } from '../validation.js';

export const SCHEMAS_DIR = fileURLToPath(new URL('../../../../schemas/', import.meta.url));

/** The environment a test service starts with: the run's database/Redis and quiet logs. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides };
}

/** Signs an access token the way auth does (HS256 mode), for testing services in isolation. */
export function mintAccessToken(
  claims: { sub?: string; role?: Role; org_id?: string | null },
  options: { secret?: string; expiresIn?: number; issuer?: string; audience?: string; jti?: string } = {},
): string {
  const secret = options.secret ?? process.env.JWT_SECRET;
  if (!secret) throw new Error('JWT_SECRET is not set for the test run');
  return jwt.sign(
    { role: claims.role ?? 'user', org_id: claims.org_id ?? null, typ: 'access' },
    secretKey(secret),
    {
      algorithm: 'HS256',
      expiresIn: options.expiresIn ?? 900,
      issuer: options.issuer ?? 'heartguard-auth',
      audience: options.audience ?? 'heartguard',
      subject: claims.sub ?? randomUUID(),
      jwtid: options.jti ?? randomUUID(),
    },
  );
}

let registry: SchemaRegistry | undefined;

/** Asserts a JSON response body matches the schema with the given $id; throws listing problems. */
export function assertMatchesSchema(schemaId: string, data: unknown): void {
  registry ??= loadSchemas(SCHEMAS_DIR);
  const validate = registry.validator(schemaId);
  if (!validate(data)) {
    throw new Error(`Response does not match ${schemaId}: ${JSON.stringify(describeErrors(validate.errors))}\n${JSON.stringify(data)}`);
  }
}

/** Validates an XML document against schemas/<xsdFile> with xmllint; throws with its output. */
export function assertValidXml(xsdFile: string, xml: string): void {
  try {
    execFileSync('xmllint', ['--noout', '--nonet', '--schema', `${SCHEMAS_DIR}${xsdFile}`, '-'], { input: xml, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    throw new Error(`XML does not validate against ${xsdFile}: ${stderr}\n${xml}`);
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/** A small fetch wrapper for tests: JSON by default, raw bodies and headers when given. */
export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; raw?: string | Buffer; token?: string } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | Buffer | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

/** An audit emitter that records what a service emits, so tests can assert on the events. */
export function recordingAuditEmitter(): AuditEmitter & { events: AuditEventInput[] } {
  const events: AuditEventInput[] = [];
  return {
    events,
    emit: (event) => void events.push(event),
    flush: async () => undefined,
    pending: () => 0,
    stop: async () => undefined,
  };
}
