import type { DataSource, EntityManager } from 'typeorm';

export interface PolicySettings {
  password_min_length: number;
  session_timeout_minutes: number;
  data_retention_days: number;
  mfa_required: boolean;
  allowed_upload_types: string[];
}

export interface OrganizationRecord {
  id: string;
  name: string;
  policies: string;
  contact_email: string | null;
  policy_settings: PolicySettings;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The editable fields after merging a request into the stored row. */
export interface OrganizationFields {
  name: string;
  policies: string;
  contact_email: string | null;
  policy_settings: PolicySettings;
}

export type UpdateOutcome =
  | { kind: 'updated'; organization: OrganizationRecord; changed: string[] }
  | { kind: 'unchanged'; organization: OrganizationRecord }
  | { kind: 'conflict'; current: OrganizationRecord }
  | { kind: 'not_found' };

export interface OrganizationRepository {
  find(id: string): Promise<OrganizationRecord | undefined>;
  /** Inserts the organization unless one with that id exists; never overwrites. */
  ensure(org: { id: string; name: string; policies?: string }): Promise<void>;
  /**
   * Locks the row, lets `merge` compute the new fields from the current ones, and writes them
   * with version + 1 — unless expectedVersion is given and differs from the stored one.
   */
  update(
    id: string,
    expectedVersion: number | undefined,
    merge: (current: OrganizationRecord) => { fields: OrganizationFields; changed: string[] },
  ): Promise<UpdateOutcome>;
}

interface OrganizationRow {
  id: string;
  name: string;
  policies: string;
  contact_email: string | null;
  password_min_length: number;
  session_timeout_minutes: number;
  data_retention_days: number;
  mfa_required: boolean;
  allowed_upload_types: string[];
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, name, policies, contact_email, password_min_length, session_timeout_minutes, data_retention_days,
  mfa_required, allowed_upload_types, version, created_at, updated_at`;

function toRecord(row: OrganizationRow): OrganizationRecord {
  return {
    id: row.id,
    name: row.name,
    policies: row.policies,
    contact_email: row.contact_email,
    policy_settings: {
      password_min_length: row.password_min_length,
      session_timeout_minutes: row.session_timeout_minutes,
      data_retention_days: row.data_retention_days,
      mfa_required: row.mfa_required,
      allowed_upload_types: row.allowed_upload_types,
    },
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

async function selectForUpdate(manager: EntityManager, id: string): Promise<OrganizationRecord | undefined> {
  const rows = (await manager.query(`SELECT ${COLUMNS} FROM heartguard_core.organizations WHERE id = $1 FOR UPDATE`, [id])) as OrganizationRow[];
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export function createOrganizationRepository(db: DataSource): OrganizationRepository {
  return {
    async find(id) {
      const rows = (await db.query(`SELECT ${COLUMNS} FROM heartguard_core.organizations WHERE id = $1`, [id])) as OrganizationRow[];
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async ensure({ id, name, policies = '' }) {
      await db.query(
        `INSERT INTO heartguard_core.organizations (id, name, policies) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
        [id, name, policies],
      );
    },

    async update(id, expectedVersion, merge) {
      return db.transaction(async (manager): Promise<UpdateOutcome> => {
        // The row lock makes a concurrent writer with the same expected version wait here and
        // then see the bumped version, so exactly one of them wins.
        const current = await selectForUpdate(manager, id);
        if (!current) return { kind: 'not_found' };
        if (expectedVersion !== undefined && expectedVersion !== current.version) return { kind: 'conflict', current };
        const { fields, changed } = merge(current);
        if (changed.length === 0) return { kind: 'unchanged', organization: current };
        const s = fields.policy_settings;
        const rows = (await manager.query(
          `UPDATE heartguard_core.organizations
              SET name = $2, policies = $3, contact_email = $4, password_min_length = $5, session_timeout_minutes = $6,
                  data_retention_days = $7, mfa_required = $8, allowed_upload_types = $9::text[],
                  version = version + 1, updated_at = now()
            WHERE id = $1
        RETURNING ${COLUMNS}`,
          [
            id,
            fields.name,
            fields.policies,
            fields.contact_email,
            s.password_min_length,
            s.session_timeout_minutes,
            s.data_retention_days,
            s.mfa_required,
            s.allowed_upload_types,
          ],
        )) as [OrganizationRow[], number];
        // TypeORM's postgres driver answers UPDATE … RETURNING with [rows, affectedCount].
        const row = rows[0][0]!;
        return { kind: 'updated', organization: toRecord(row), changed };
      });
    },
  };
}
