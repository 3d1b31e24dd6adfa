import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The embedded store follows InfluxDB's data model. A series is (bucket, measurement, tag set,
 * field) and lives once in ts_series (tags as jsonb, GIN-indexed for `@>` filters). Points are
 * stored per series in chunks, one row per series per written batch, with the instants and
 * values as parallel arrays: a 5,000-point batch inserts a few dozen rows and index entries
 * instead of 5,000 of each, which is what makes ingest fast. Queries unnest the chunks that
 * overlap the range. ts_chunks has no foreign key (a per-row check would cost ingest speed);
 * deletes go through the bucket, explicitly.
 */
export class CreateTimeseriesTables1764500000000 implements MigrationInterface {
  name = 'CreateTimeseriesTables1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE heartguard_core.ts_buckets (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        org_id uuid NOT NULL,
        retention_seconds bigint NOT NULL CHECK (retention_seconds >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX ts_buckets_org_idx ON heartguard_core.ts_buckets (org_id)');
    await q.query(`
      CREATE TABLE heartguard_core.ts_series (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        bucket_id integer NOT NULL REFERENCES heartguard_core.ts_buckets (id) ON DELETE CASCADE,
        measurement text NOT NULL,
        field text NOT NULL,
        tags jsonb NOT NULL,
        kind smallint NOT NULL CHECK (kind IN (0, 1, 2))
      )`);
    // md5 of the canonical jsonb text keeps the key small whatever the tag set's size.
    await q.query('CREATE UNIQUE INDEX ts_series_key_idx ON heartguard_core.ts_series (bucket_id, measurement, field, md5(tags::text))');
    await q.query('CREATE INDEX ts_series_tags_idx ON heartguard_core.ts_series USING gin (tags jsonb_path_ops)');
    // times are epoch microseconds; exactly one of nums/txts/bools is set, by the series' kind.
    await q.query(`
      CREATE TABLE heartguard_core.ts_chunks (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        series_id bigint NOT NULL,
        min_time timestamptz NOT NULL,
        max_time timestamptz NOT NULL,
        times bigint[] NOT NULL,
        nums double precision[],
        txts text[],
        bools boolean[]
      )`);
    await q.query('CREATE INDEX ts_chunks_series_time_idx ON heartguard_core.ts_chunks (series_id, max_time)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE heartguard_core.ts_chunks');
    await q.query('DROP TABLE heartguard_core.ts_series');
    await q.query('DROP TABLE heartguard_core.ts_buckets');
  }
}
