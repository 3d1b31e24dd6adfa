import { Errors, isUuid } from '@heartguard/kit';
import type { MediaDeps } from './deps.js';
import { toMediaItem, type Caller, type MediaItem } from './media-item.js';
import type { PagePosition } from './repository.js';

export interface MediaPage {
  items: MediaItem[];
  next_cursor: string | null;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const POSITION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition | undefined {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [createdAt, id] = value as unknown[];
    if (typeof createdAt !== 'string' || !POSITION.test(createdAt) || typeof id !== 'string' || !isUuid(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

export interface ListQuery {
  limit: number;
  after: PagePosition | undefined;
}

export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const problems: Array<{ field: string; problem: string }> = [];
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    const raw = query.limit;
    if (typeof raw === 'string' && /^\d{1,3}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_LIMIT) limit = Number(raw);
    else problems.push({ field: 'limit', problem: `must be an integer from 1 to ${MAX_LIMIT}` });
  }
  let after: PagePosition | undefined;
  if (query.cursor !== undefined) {
    after = typeof query.cursor === 'string' ? decodeCursor(query.cursor) : undefined;
    if (!after) problems.push({ field: 'cursor', problem: 'is not a cursor this service issued' });
  }
  if (problems.length) throw Errors.badQuery(undefined, { details: problems });
  return { limit, after };
}

/** One page of the caller's organization's media, newest first. */
export async function listMedia(deps: MediaDeps, caller: Caller, { limit, after }: ListQuery): Promise<MediaPage> {
  const rows = await deps.repository.listPage(caller.orgId, limit, after);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toMediaItem),
    next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.position, id: last.id }) : null,
  };
}
