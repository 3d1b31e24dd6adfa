import type { DataSource, EntityManager } from 'typeorm';

export interface MediaItemRecord {
  id: string;
  org_id: string;
  uploaded_by: string;
  file_name: string;
  original_file_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  object_key: string;
  created_at: Date;
  /** created_at with microseconds, for keyset cursors (a JS Date keeps only milliseconds). */
  position: string;
}

export type NewMediaItem = Omit<MediaItemRecord, 'created_at' | 'position'>;

export interface PagePosition {
  createdAt: string;
  id: string;
}

const COLUMNS = `id, org_id, uploaded_by, file_name, original_file_name, content_type, size_bytes, sha256, object_key,
  created_at, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

interface Row extends Omit<MediaItemRecord, 'size_bytes'> {
  size_bytes: string | number;
}

function toRecord(row: Row): MediaItemRecord {
  return { ...row, size_bytes: Number(row.size_bytes), sha256: row.sha256.trim() };
}

export interface MediaRepository {
  readonly db: DataSource;
  insert(item: NewMediaItem): Promise<MediaItemRecord>;
  /** Newest first; returns up to limit+1 rows so the caller knows whether another page exists. */
  listPage(orgId: string, limit: number, after: PagePosition | undefined): Promise<MediaItemRecord[]>;
  find(orgId: string, id: string): Promise<MediaItemRecord | undefined>;
  /**
   * Locks the row, runs removeObject, then deletes the row, all in one transaction: if the
   * object cannot be removed the row stays, so the delete can simply be retried.
   */
  deleteWith(orgId: string, id: string, removeObject: (item: MediaItemRecord) => Promise<void>): Promise<MediaItemRecord | undefined>;
}

export function createMediaRepository(db: DataSource): MediaRepository {
  return {
    db,
    async insert(item) {
      return db.transaction(async (tx: EntityManager) => {
        const rows = (await tx.query(
          `INSERT INTO heartguard_core.media_items
             (id, org_id, uploaded_by, file_name, original_file_name, content_type, size_bytes, sha256, object_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING ${COLUMNS}`,
          [item.id, item.org_id, item.uploaded_by, item.file_name, item.original_file_name, item.content_type, item.size_bytes, item.sha256, item.object_key],
        )) as Row[];
        return toRecord(rows[0]!);
      });
    },
    async listPage(orgId, limit, after) {
      const rows = (await (after
        ? db.query(
            `SELECT ${COLUMNS} FROM heartguard_core.media_items
              WHERE org_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
              ORDER BY created_at DESC, id DESC LIMIT $4`,
            [orgId, after.createdAt, after.id, limit + 1],
          )
        : db.query(
            `SELECT ${COLUMNS} FROM heartguard_core.media_items
              WHERE org_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
            [orgId, limit + 1],
          ))) as Row[];
      return rows.map(toRecord);
    },
    async find(orgId, id) {
      const rows = (await db.query(`SELECT ${COLUMNS} FROM heartguard_core.media_items WHERE org_id = $1 AND id = $2`, [orgId, id])) as Row[];
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    async deleteWith(orgId, id, removeObject) {
      return db.transaction(async (tx: EntityManager) => {
        const rows = (await tx.query(
          `SELECT ${COLUMNS} FROM heartguard_core.media_items WHERE org_id = $1 AND id = $2 FOR UPDATE`,
          [orgId, id],
        )) as Row[];
        if (!rows[0]) return undefined;
        const item = toRecord(rows[0]);
        await removeObject(item);
        await tx.query('DELETE FROM heartguard_core.media_items WHERE id = $1', [id]);
        return item;
      });
    },
  };
}
