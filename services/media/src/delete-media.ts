import { isUuid } from '@heartguard/kit';
import type { MediaDeps } from './deps.js';
import { MediaErrors } from './errors.js';
import type { Caller } from './media-item.js';

/**
 * Removes an item's object and row. Idempotent: an id that is already gone (or belongs to
 * another organization, which the caller cannot see) answers the same as a fresh delete.
 */
export async function deleteMedia(deps: MediaDeps, caller: Caller, id: string): Promise<void> {
  if (!isUuid(id)) throw MediaErrors.notFound();
  const { repository, store, metrics, platform } = deps;
  const removed = await repository.deleteWith(caller.orgId, id.toLowerCase(), async (item) => {
    try {
      await store.delete(item.object_key);
    } catch (err) {
      throw MediaErrors.storeUnavailable('Object storage is unavailable; nothing was deleted', { cause: err });
    }
  });
  metrics.deletes.inc({ outcome: removed ? 'deleted' : 'absent' });
  if (removed) {
    platform.audit.emit({
      action: 'media.deleted',
      actor: caller.userId,
      org_id: caller.orgId,
      outcome: 'success',
      payload: { id: removed.id, object_key: removed.object_key, size_bytes: removed.size_bytes },
    });
  }
}
