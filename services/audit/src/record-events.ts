import { randomUUID } from 'node:crypto';
import { Errors, type FieldProblem, type TokenClaims } from '@heartguard/kit';
import { AuditErrors } from './audit-errors.js';
import { canonicalTimestamp } from './hash-chain.js';
import { maskActor, maskPayload, storableText } from './masking.js';
import type { AppendResult, AuditRepository, NewAuditEvent } from './repository.js';

/** One event as POST /audit/events receives it (after schema validation). */
export interface AuditEventInput {
  id?: string;
  service?: string;
  actor: string;
  action: string;
  outcome?: string;
  org_id?: string | null;
  request_id?: string;
  payload?: Record<string, unknown>;
  occurred_at?: string;
}

export interface RecordLimits {
  payloadMaxBytes: number;
  maxClockSkewSeconds: number;
}

/** The producing service comes from the token (sub "svc:<name>"), never from the body. */
export function callerService(claims: TokenClaims | undefined): string {
  const name = /^svc:([a-z][a-z0-9-]{0,31})$/.exec(claims?.sub ?? '')?.[1];
  if (claims?.role !== 'service' || !name) throw Errors.forbidden();
  return name;
}

function problem(index: number | undefined, field: string, text: string): FieldProblem {
  return { field: index === undefined ? `/${field}` : `/events/${index}/${field}`, problem: text };
}

/**
 * Turns a validated input into the row that is hashed and stored: service from the token,
 * client id kept for idempotency (lowercased: PostgreSQL returns uuids lowercase and the hash
 * must match), PII masked, timestamps canonical.
 */
export function prepareEvent(input: AuditEventInput, service: string, limits: RecordLimits, now: Date, index?: number): NewAuditEvent {
  if (input.service !== undefined && input.service !== service) {
    throw AuditErrors.serviceMismatch(`Events from this token must name service "${service}" or omit it`);
  }
  const payload = input.payload ?? {};
  const size = Buffer.byteLength(JSON.stringify(payload));
  if (size > limits.payloadMaxBytes) {
    throw AuditErrors.eventRejected(undefined, {
      details: [problem(index, 'payload', `is ${size} bytes; at most ${limits.payloadMaxBytes} are accepted`)],
    });
  }
  let occurredAt = now;
  if (input.occurred_at !== undefined) {
    occurredAt = new Date(input.occurred_at);
    const year = occurredAt.getUTCFullYear();
    if (Number.isNaN(occurredAt.getTime()) || year < 1970 || year > 9999) {
      throw AuditErrors.eventRejected(undefined, { details: [problem(index, 'occurred_at', 'is not a valid timestamp')] });
    }
    if (occurredAt.getTime() > now.getTime() + limits.maxClockSkewSeconds * 1000) {
      throw AuditErrors.eventRejected(undefined, { details: [problem(index, 'occurred_at', 'lies too far in the future')] });
    }
  }
  return {
    id: (input.id ?? randomUUID()).toLowerCase(),
    service,
    actor: maskActor(input.actor),
    action: storableText(input.action),
    outcome: input.outcome ?? 'success',
    org_id: input.org_id ? input.org_id.toLowerCase() : null,
    request_id: input.request_id ?? null,
    payload: maskPayload(payload) as Record<string, unknown>,
    occurred_at: canonicalTimestamp(occurredAt),
  };
}

export function isBatch(body: unknown): body is { events: AuditEventInput[] } {
  return typeof body === 'object' && body !== null && 'events' in body;
}

export async function recordEvents(
  repository: AuditRepository,
  inputs: AuditEventInput[],
  service: string,
  limits: RecordLimits,
  batched: boolean,
): Promise<AppendResult> {
  const now = new Date();
  const events = inputs.map((input, i) => prepareEvent(input, service, limits, now, batched ? i : undefined));
  return repository.append(events);
}
