-- Volume change against the previous run, for Soda v4 without Soda Cloud.
--
-- Soda v4's own change-over-time checks need Soda Cloud (it keeps the metric history);
-- this project runs Soda fully local, so the history lives in the warehouse:
--   * quality.volume_history: one row per (verification, dataset) with the row count
--     and whether that dataset's contract passed (`accepted`). verify_all.sh writes it
--     after each contract (quality/volume/record.py).
--   * quality.volume_change(dataset): the current row count against the last
--     ACCEPTED count. A contract's volume checks select from it (failed_rows checks).
-- The baseline is the last accepted run, not simply the last run: otherwise re-running a
-- job that a volume drop stopped would compare the drop with itself and let it through.
-- To accept a real change, run once with a wider bound (QUALITY_VOLUME_GATE_DROP_PCT=100).
--
-- Idempotent: verify_all.sh runs it before every verification.
-- The schema is the warehouse owner's (orchestrate/roles.sql), owned by the quality role;
-- CREATE SCHEMA IF NOT EXISTS would need the right to create schemas even when it exists,
-- so only a bare database (quality's own tests) gets it here.
DO $$ BEGIN IF to_regnamespace('quality') IS NULL THEN CREATE SCHEMA quality; END IF; END $$;

CREATE TABLE IF NOT EXISTS quality.volume_history (
    dataset     text        NOT NULL,           -- schema.table, e.g. raw.tracks
    row_count   bigint      NOT NULL,
    accepted    boolean     NOT NULL,           -- the dataset's contract passed (warnings allowed)
    recorded_at timestamptz NOT NULL DEFAULT now(),
    run_id      text                            -- MELTANO_RUN_ID when run by Meltano
);
CREATE INDEX IF NOT EXISTS volume_history_dataset_idx
    ON quality.volume_history (dataset, recorded_at DESC);

-- One row: the dataset, its last accepted count, its count now, the change in percent.
-- change_pct is NULL when there is no accepted baseline yet (first run) or it was 0,
-- so the checks' `change_pct < -bound` / `> bound` filters pass on a first run.
CREATE OR REPLACE FUNCTION quality.volume_change(p_dataset text)
RETURNS TABLE (dataset text, baseline_rows bigint, baseline_at timestamptz,
               current_rows bigint, change_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    dataset := p_dataset;
    -- regclass quotes and validates the name: an unknown table is an error, not 0 rows.
    EXECUTE format('SELECT count(*) FROM %s', p_dataset::regclass) INTO current_rows;
    SELECT h.row_count, h.recorded_at INTO baseline_rows, baseline_at
    FROM quality.volume_history AS h
    WHERE h.dataset = p_dataset AND h.accepted
    ORDER BY h.recorded_at DESC
    LIMIT 1;
    change_pct := round(100.0 * (current_rows - baseline_rows) / nullif(baseline_rows, 0), 2);
    RETURN NEXT;
END
$$;
