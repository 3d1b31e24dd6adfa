import type { DataSource } from 'typeorm';
import type { Preferences } from './preference-bounds.js';

export interface PreferencesRecord {
  user_id: string;
  org_id: string;
  preferences: Preferences;
  version: number;
  updated_at: Date;
}

export type ReplaceOutcome =
  | { kind: 'saved'; record: PreferencesRecord; previous: Preferences }
  | { kind: 'conflict'; currentVersion: number };

export interface PreferencesRepository {
  /** The user's preferences, only if they are stored under that organization. */
  find(userId: string, orgId: string): Promise<PreferencesRecord | undefined>;
  /**
   * Replaces the preferences (version + 1). With expectedVersion, the write happens only if the
   * stored version equals it (0 = nothing stored yet).
   */
  replace(userId: string, orgId: string, preferences: Preferences, expectedVersion: number | undefined): Promise<ReplaceOutcome>;
}

const COLUMNS = 'user_id, org_id, preferences, version, updated_at';

export function createPreferencesRepository(db: DataSource): PreferencesRepository {
  return {
    async find(userId, orgId) {
      const rows = (await db.query(`SELECT ${COLUMNS} FROM heartguard_core.user_preferences WHERE user_id = $1 AND org_id = $2`, [
        userId,
        orgId,
      ])) as PreferencesRecord[];
      return rows[0];
    },

    async replace(userId, orgId, preferences, expectedVersion) {
      return db.transaction(async (manager): Promise<ReplaceOutcome> => {
        const current = ((await manager.query(
          `SELECT preferences, version FROM heartguard_core.user_preferences WHERE user_id = $1 FOR UPDATE`,
          [userId],
        )) as Array<{ preferences: Preferences; version: number }>)[0];
        const currentVersion = current?.version ?? 0;
        if (expectedVersion !== undefined && expectedVersion !== currentVersion) return { kind: 'conflict', currentVersion };
        // The WHERE also covers two first writes racing (no row to lock yet): the loser's insert
        // turns into an update whose version check fails, so it reports a conflict.
        const rows = (await manager.query(
          `INSERT INTO heartguard_core.user_preferences (user_id, org_id, preferences, version, updated_at)
           VALUES ($1, $2, $3::jsonb, 1, now())
           ON CONFLICT (user_id) DO UPDATE
              SET org_id = EXCLUDED.org_id, preferences = EXCLUDED.preferences,
                  version = heartguard_core.user_preferences.version + 1, updated_at = now()
            WHERE $4::integer IS NULL OR heartguard_core.user_preferences.version = $4::integer
           RETURNING ${COLUMNS}`,
          [userId, orgId, JSON.stringify(preferences), expectedVersion ?? null],
        )) as PreferencesRecord[];
        if (!rows[0]) return { kind: 'conflict', currentVersion: currentVersion + 1 };
        return { kind: 'saved', record: rows[0], previous: current?.preferences ?? {} };
      });
    },
  };
}
