import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Preferences only: identity (email, role, organization, name) belongs to auth and is fetched
 * from it, so the two can never disagree. org_id is kept here to scope every read by tenant.
 */
export class CreateUserPreferences1764000003000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS heartguard_core.user_preferences (
        user_id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        preferences jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(preferences) = 'object'),
        version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX IF NOT EXISTS user_preferences_org_idx ON heartguard_core.user_preferences (org_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE IF EXISTS heartguard_core.user_preferences');
  }
}
