import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateMediaItems1764000000000 implements MigrationInterface {
  name = 'CreateMediaItems1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE heartguard_core.media_items (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        uploaded_by uuid NOT NULL,
        file_name text NOT NULL CHECK (octet_length(file_name) BETWEEN 1 AND 255),
        original_file_name text NOT NULL,
        content_type text NOT NULL,
        size_bytes bigint NOT NULL CHECK (size_bytes > 0),
        sha256 char(64) NOT NULL,
        object_key text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Serves the org-scoped, newest-first keyset pages: WHERE org_id = $1 AND (created_at, id) < (...)
    await q.query('CREATE INDEX media_items_org_page_idx ON heartguard_core.media_items (org_id, created_at DESC, id DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE heartguard_core.media_items');
  }
}
