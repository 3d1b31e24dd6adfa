import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateAuthTables1764000000000 implements MigrationInterface {
  name = 'CreateAuthTables1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE heartguard_core.users (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        full_name text,
        role text NOT NULL CHECK (role IN ('admin', 'manager', 'user')),
        org_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE UNIQUE INDEX users_email_key ON heartguard_core.users (lower(email))');
    await q.query('CREATE INDEX users_org_idx ON heartguard_core.users (org_id)');
    await q.query(`
      CREATE TABLE heartguard_core.refresh_tokens (
        id uuid PRIMARY KEY,
        family_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES heartguard_core.users (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        rotated_at timestamptz,
        revoked_at timestamptz,
        revoked_reason text
      )`);
    await q.query('CREATE INDEX refresh_tokens_family_idx ON heartguard_core.refresh_tokens (family_id)');
    await q.query('CREATE INDEX refresh_tokens_expiry_idx ON heartguard_core.refresh_tokens (expires_at)');
    await q.query(`
      CREATE TABLE heartguard_core.revoked_tokens (
        jti uuid PRIMARY KEY,
        user_id uuid,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz NOT NULL DEFAULT now(),
        reason text NOT NULL
      )`);
    await q.query('CREATE INDEX revoked_tokens_expiry_idx ON heartguard_core.revoked_tokens (expires_at)');
    await q.query(`
      CREATE TABLE heartguard_core.signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        private_pem text NOT NULL,
        public_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE heartguard_core.signing_keys');
    await q.query('DROP TABLE heartguard_core.revoked_tokens');
    await q.query('DROP TABLE heartguard_core.refresh_tokens');
    await q.query('DROP TABLE heartguard_core.users');
  }
}
