import { Errors, type FieldProblem, type TokenClaims } from '@heartguard/kit';
import { AuditErrors } from './audit-errors.js';
import { maskActor } from './masking.js';
import type { AuditRepository, EventFilter, StoredAuditEvent } from './repository.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const CURSOR_PREFIX = 's:';

/** Cursors are opaque to clients: base64url of the last seq of the page. */
export function encodeCursor(seq: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) throw AuditErrors.badCursor();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : '';
  if (!/^[1-9][0-9]{0,18}$/.test(seq) || BigInt(seq) > 9_223_372_036_854_775_807n) throw AuditErrors.badCursor();
  return seq;
}

const FILTER_KEYS = ['service', 'actor', 'action', 'from', 'to', 'limit', 'cursor'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(value: string, field: string, problems: FieldProblem[]): string | undefined {
  const date = new Date(value);
  if (!ISO_TIMESTAMP.test(value) || Number.isNaN(date.getTime())) {
    problems.push({ field, problem: 'must be an ISO-8601 timestamp with a timezone, e.g. 2025-01-31T12:00:00Z' });
    return undefined;
  }
  return date.toISOString();
}

/**
 * Reads GET /audit/events query parameters into a filter scoped to the caller's organization.
 * Unknown or repeated parameters are refused rather than ignored, so a typo never widens a query.
 */
export function parseEventQuery(query: Record<string, unknown>, orgId: string): EventFilter {
  const problems: FieldProblem[] = [];
  const values: Partial<Record<FilterKey, string>> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key)) problems.push({ field: key, problem: 'is not a known parameter' });
    else if (typeof value !== 'string') problems.push({ field: key, problem: 'must be given once' });
    else if (value.length > 320) problems.push({ field: key, problem: 'is too long' });
    else values[key as FilterKey] = value;
  }
  const filter: EventFilter = { orgId, limit: DEFAULT_PAGE_SIZE };
  if (values.limit !== undefined) {
    const limit = /^\d{1,4}$/.test(values.limit) ? Number(values.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) problems.push({ field: 'limit', problem: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
    else filter.limit = limit;
  }
  if (values.service !== undefined) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(values.service)) problems.push({ field: 'service', problem: 'is not a service name' });
    else filter.service = values.service;
  }
  if (values.action !== undefined) {
    if (values.action === '') problems.push({ field: 'action', problem: 'must not be empty' });
    else filter.action = values.action;
  }
  // Actors are stored masked, so the filter value is masked the same way to match them.
  if (values.actor !== undefined) {
    if (values.actor === '') problems.push({ field: 'actor', problem: 'must not be empty' });
    else filter.actor = maskActor(values.actor);
  }
  if (values.from !== undefined) filter.from = parseTimestamp(values.from, 'from', problems);
  if (values.to !== undefined) filter.to = parseTimestamp(values.to, 'to', problems);
  if (filter.from && filter.to && filter.from > filter.to) problems.push({ field: 'from', problem: 'must not be after to' });
  if (problems.length > 0) throw AuditErrors.badFilter(undefined, { details: problems });
  if (values.cursor !== undefined) filter.beforeSeq = decodeCursor(values.cursor);
  return filter;
}

export interface AuditEventView extends Omit<StoredAuditEvent, 'seq'> {
  seq: number;
}

export interface EventPage {
  items: AuditEventView[];
  next_cursor: string | null;
}

/** Admins read their own organization's events; an admin token without an org reads nothing. */
export function readerOrg(claims: TokenClaims | undefined): string {
  if (!claims?.org_id) throw Errors.forbidden('This token is not bound to an organization');
  return claims.org_id;
}

export async function listEvents(repository: AuditRepository, filter: EventFilter): Promise<EventPage> {
  // One extra row tells whether another page exists without a COUNT.
  const rows = await repository.list({ ...filter, limit: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => ({ ...row, seq: Number(row.seq) })),
    next_cursor: rows.length > filter.limit && last ? encodeCursor(last.seq) : null,
  };
}

/**
 * XML cannot carry arbitrary payload keys as element names, so the XML view holds the payload
 * as its JSON text (payload_json); the JSON view keeps it as an object.
 */
export function pageForXml(page: EventPage): Record<string, unknown> {
  return {
    items: page.items.map(({ payload, ...rest }) => ({ ...rest, payload_json: JSON.stringify(payload) })),
    next_cursor: page.next_cursor,
  };
}
