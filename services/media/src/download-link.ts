import { isUuid } from '@heartguard/kit';
import type { MediaDeps } from './deps.js';
import { MediaErrors } from './errors.js';
import type { Caller } from './media-item.js';

export interface MediaDownload {
  id: string;
  url: string;
  expires_at: string;
}

/** A signed, expiring read link for an item of the caller's organization. */
export async function createDownloadLink(deps: MediaDeps, caller: Caller, id: string): Promise<MediaDownload> {
  // Other organizations' items, unknown ids and malformed ids all read as "not found".
  if (!isUuid(id)) throw MediaErrors.notFound();
  const item = await deps.repository.find(caller.orgId, id.toLowerCase());
  if (!item) throw MediaErrors.notFound();
  const link = await deps.store.signedReadUrl(item.object_key, deps.config.signedUrlTtlSeconds);
  deps.metrics.linksIssued.inc();
  return { id: item.id, url: link.url, expires_at: link.expiresAt.toISOString() };
}
