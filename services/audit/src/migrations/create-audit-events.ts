import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log. seq is assigned by the service under the chain lock (head + 1), so numbering
 * is gap-free and a missing seq is itself evidence of a deleted row.
 *
 * The trigger refuses UPDATE, DELETE and TRUNCATE for every role, the owner included. A superuser
 * (or the owner) can still disable it (ALTER TABLE … DISABLE TRIGGER, session_replication_role =
 * replica), which is why rows are also hash-chained: the chain makes such edits detectable.
 */
export class CreateAuditEvents1764000600000 implements MigrationInterface {
  name = 'CreateAuditEvents1764000600000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE heartguard_core.audit_events (
        seq          bigint PRIMARY KEY CHECK (seq > 0),
        id           uuid NOT NULL,
        service      text NOT NULL,
        actor        text NOT NULL,
        action       text NOT NULL,
        outcome      text NOT NULL,
        org_id       uuid,
        request_id   text,
        payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
        occurred_at  timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL,
        prev_hash    text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
        hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        CONSTRAINT audit_events_id_key UNIQUE (id)
      )`);
    // Keyset pages read newest-first within one org: the page's seqs come from an index-only
    // backward scan of the index whose leading columns match the filters, starting at the cursor,
    // so a page 900,000 rows deep costs what the first does. occurred_at is included so time
    // filters are checked inside the index too. Ascending seq: new rows land at the right edge
    // of their org's range, and a backward scan reads it newest-first just as fast.
    for (const [name, columns] of [
      ['audit_events_org_seq_idx', 'org_id, seq'],
      ['audit_events_org_service_seq_idx', 'org_id, service, seq'],
      ['audit_events_org_actor_seq_idx', 'org_id, actor, seq'],
      ['audit_events_org_action_seq_idx', 'org_id, action, seq'],
    ]) {
      await runner.query(`CREATE INDEX ${name} ON heartguard_core.audit_events (${columns}) INCLUDE (occurred_at)`);
    }
    // A narrow time window far back in history: the planner can start from occurred_at instead.
    await runner.query('CREATE INDEX audit_events_org_occurred_idx ON heartguard_core.audit_events (org_id, occurred_at)');
    await runner.query(`
      CREATE FUNCTION heartguard_core.audit_events_refuse_change() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'heartguard_core.audit_events is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON heartguard_core.audit_events
        FOR EACH ROW EXECUTE FUNCTION heartguard_core.audit_events_refuse_change()`);
    await runner.query(`
      CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON heartguard_core.audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION heartguard_core.audit_events_refuse_change()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE IF EXISTS heartguard_core.audit_events');
    await runner.query('DROP FUNCTION IF EXISTS heartguard_core.audit_events_refuse_change()');
  }
}
