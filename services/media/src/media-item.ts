import type { Request, RequestHandler } from 'express';
import { Errors, isUuid } from '@heartguard/kit';
import type { MediaItemRecord } from './repository.js';


/** The MediaItem resource (JSON and <MediaItem>); records never reach a response directly. */
export interface MediaItem {
  id: string;
  file_name: string;
  original_file_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  object_key: string;
  org_id: string;
  uploaded_by: string;
  created_at: string;
}

export function toMediaItem(record: MediaItemRecord): MediaItem {
  return {
    id: record.id,
    file_name: record.file_name,
    original_file_name: record.original_file_name,
    content_type: record.content_type,
    size_bytes: record.size_bytes,
    sha256: record.sha256,
    object_key: record.object_key,
    org_id: record.org_id,
    uploaded_by: record.uploaded_by,
    created_at: record.created_at.toISOString(),
  };
}

export interface Caller {
  userId: string;
  orgId: string;
}

/** Media belongs to a user of an organization; service tokens (no org) have nothing here. */
export function callerOf(req: Request): Caller {
  const auth = req.auth;
  if (!auth) throw Errors.unauthenticated();
  if (typeof auth.org_id !== 'string' || !isUuid(auth.org_id) || !isUuid(auth.sub)) {
    throw Errors.forbidden('Media requires a user token that belongs to an organization');
  }
  return { userId: auth.sub.toLowerCase(), orgId: auth.org_id.toLowerCase() };
}

/** callerOf as a route step, so an upload from a token without an org is refused before its body is read. */
export const requireTenant: RequestHandler = (req, _res, next) => {
  callerOf(req);
  next();
};
