import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organizations and their policies in one row: the policies are a handful of typed settings that
 * always travel with the organization, so a second table would only add a join and a second
 * version to keep in step. The bootstrap organization is configuration, inserted at start-up.
 */
export class CreateOrganizations1764000002000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS heartguard_core.organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        policies text NOT NULL DEFAULT '' CHECK (char_length(policies) <= 2000),
        contact_email text NULL CHECK (char_length(contact_email) <= 254),
        password_min_length integer NOT NULL DEFAULT 12 CHECK (password_min_length BETWEEN 8 AND 128),
        session_timeout_minutes integer NOT NULL DEFAULT 60 CHECK (session_timeout_minutes BETWEEN 5 AND 1440),
        data_retention_days integer NOT NULL DEFAULT 365 CHECK (data_retention_days BETWEEN 1 AND 3650),
        mfa_required boolean NOT NULL DEFAULT false,
        allowed_upload_types text[] NOT NULL DEFAULT ARRAY['image/png', 'image/jpeg', 'application/pdf']
          CHECK (cardinality(allowed_upload_types) BETWEEN 1 AND 20),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE IF EXISTS heartguard_core.organizations');
  }
}
