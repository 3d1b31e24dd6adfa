import type { DataSource, EntityManager } from 'typeorm';
import type { Role } from '@heartguard/kit';

export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string;
  fullName: string | null;
  role: Role;
  orgId: string;
  createdAt: Date;
}

export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  userId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  privatePem: string;
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  retiredAt: Date | null;
}

type Queryable = DataSource | EntityManager;

const USER_COLUMNS = 'id, email, password_hash, full_name, role, org_id, created_at';

function toUser(row: Record<string, unknown>): UserRecord {
  return {
    id: row.id as string,
    email: row.email as string,
    passwordHash: row.password_hash as string,
    fullName: (row.full_name as string | null) ?? null,
    role: row.role as Role,
    orgId: row.org_id as string,
    createdAt: row.created_at as Date,
  };
}

function toRefresh(row: Record<string, unknown>): RefreshTokenRecord {
  return {
    id: row.id as string,
    familyId: row.family_id as string,
    userId: row.user_id as string,
    expiresAt: row.expires_at as Date,
    rotatedAt: (row.rotated_at as Date | null) ?? null,
    revokedAt: (row.revoked_at as Date | null) ?? null,
  };
}

export function createAuthRepository(db: DataSource) {
  return {
    db,

    async insertUser(user: Omit<UserRecord, 'createdAt'>): Promise<UserRecord> {
      const rows = (await db.query(
        `INSERT INTO heartguard_core.users (id, email, password_hash, full_name, role, org_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${USER_COLUMNS}`,
        [user.id, user.email, user.passwordHash, user.fullName, user.role, user.orgId],
      )) as Record<string, unknown>[];
      return toUser(rows[0]!);
    },

    /** Creates the user unless the email exists; returns whether it was created. */
    async insertUserIfAbsent(user: Omit<UserRecord, 'createdAt'>): Promise<boolean> {
      const rows = (await db.query(
        `INSERT INTO heartguard_core.users (id, email, password_hash, full_name, role, org_id)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
        [user.id, user.email, user.passwordHash, user.fullName, user.role, user.orgId],
      )) as unknown[];
      return rows.length === 1;
    },

    async findUserByEmail(email: string): Promise<UserRecord | undefined> {
      const rows = (await db.query(`SELECT ${USER_COLUMNS} FROM heartguard_core.users WHERE lower(email) = lower($1)`, [email])) as Record<string, unknown>[];
      return rows[0] ? toUser(rows[0]) : undefined;
    },

    async findUserById(id: string): Promise<UserRecord | undefined> {
      const rows = (await db.query(`SELECT ${USER_COLUMNS} FROM heartguard_core.users WHERE id = $1`, [id])) as Record<string, unknown>[];
      return rows[0] ? toUser(rows[0]) : undefined;
    },

    async insertRefreshToken(
      q: Queryable,
      token: { id: string; familyId: string; userId: string; hash: Buffer; expiresAt: Date },
    ): Promise<void> {
      await q.query(
        `INSERT INTO heartguard_core.refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
        [token.id, token.familyId, token.userId, token.hash, token.expiresAt],
      );
    },

    /**
     * Marks a live refresh token as used in one statement, so of two concurrent uses exactly
     * one gets the row back.
     */
    async claimRefreshToken(q: Queryable, hash: Buffer): Promise<RefreshTokenRecord | undefined> {
      const rows = (await q.query(
        `UPDATE heartguard_core.refresh_tokens SET rotated_at = now()
         WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
         RETURNING id, family_id, user_id, expires_at, rotated_at, revoked_at`,
        [hash],
      )) as [Record<string, unknown>[], number] | Record<string, unknown>[];
      const list = Array.isArray(rows[0]) ? (rows[0] as Record<string, unknown>[]) : (rows as Record<string, unknown>[]);
      return list[0] ? toRefresh(list[0]) : undefined;
    },

    async findRefreshToken(hash: Buffer): Promise<RefreshTokenRecord | undefined> {
      const rows = (await db.query(
        'SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM heartguard_core.refresh_tokens WHERE token_hash = $1',
        [hash],
      )) as Record<string, unknown>[];
      return rows[0] ? toRefresh(rows[0]) : undefined;
    },

    async revokeFamily(familyId: string, reason: string): Promise<number> {
      const result = (await db.query(
        `UPDATE heartguard_core.refresh_tokens SET revoked_at = now(), revoked_reason = $2
         WHERE family_id = $1 AND revoked_at IS NULL`,
        [familyId, reason],
      )) as [unknown[], number];
      return result[1] ?? 0;
    },

    async recordRevokedAccessToken(entry: { jti: string; userId: string; expiresAt: Date; reason: string }): Promise<void> {
      await db.query(
        `INSERT INTO heartguard_core.revoked_tokens (jti, user_id, expires_at, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (jti) DO NOTHING`,
        [entry.jti, entry.userId, entry.expiresAt, entry.reason],
      );
    },

    async listLiveRevocations(): Promise<Array<{ jti: string; expiresAt: Date }>> {
      const rows = (await db.query(
        'SELECT jti, expires_at FROM heartguard_core.revoked_tokens WHERE expires_at > now()',
      )) as Array<{ jti: string; expires_at: Date }>;
      return rows.map((r) => ({ jti: r.jti, expiresAt: r.expires_at }));
    },

    async purgeExpired(): Promise<void> {
      await db.query("DELETE FROM heartguard_core.refresh_tokens WHERE expires_at < now() - interval '1 day'");
      await db.query("DELETE FROM heartguard_core.revoked_tokens WHERE expires_at < now() - interval '1 day'");
    },

    async listSigningKeys(): Promise<SigningKeyRecord[]> {
      const rows = (await db.query(
        'SELECT kid, alg, private_pem, public_jwk, created_at, retired_at FROM heartguard_core.signing_keys ORDER BY created_at DESC',
      )) as Array<Record<string, unknown>>;
      return rows.map((r) => ({
        kid: r.kid as string,
        alg: r.alg as string,
        privatePem: r.private_pem as string,
        publicJwk: r.public_jwk as Record<string, unknown>,
        createdAt: r.created_at as Date,
        retiredAt: (r.retired_at as Date | null) ?? null,
      }));
    },

    async insertSigningKey(key: { kid: string; alg: string; privatePem: string; publicJwk: object }): Promise<void> {
      await db.query(
        'INSERT INTO heartguard_core.signing_keys (kid, alg, private_pem, public_jwk) VALUES ($1, $2, $3, $4)',
        [key.kid, key.alg, key.privatePem, JSON.stringify(key.publicJwk)],
      );
    },

    async retireSigningKeysExcept(kid: string): Promise<void> {
      await db.query('UPDATE heartguard_core.signing_keys SET retired_at = now() WHERE kid <> $1 AND retired_at IS NULL', [kid]);
    },
  };
}

export type AuthRepository = ReturnType<typeof createAuthRepository>;
