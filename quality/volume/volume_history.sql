-- Volume change against the previous run, for Soda v4 without Soda Cloud.
--
-- Soda v4's own change-over-time checks need Soda Cloud (it keeps the metric history);
-- this project runs Soda fully local, so the history lives in the warehouse:
--   * ops.quality_volume_history: one row per (verification, dataset) with the row count
--     and whether that dataset's contract passed (`accepted`). verify_all.sh writes it
--     after each contract (quality/volume/record.py).
--   * ops.quality_volume_change(dataset): the current row count against the last
--     ACCEPTED count. A contract's volume checks select from it (failed_rows checks).
-- The baseline is the last accepted run, not simply the last run: otherwise re-running a
-- job that a volume drop stopped would compare the drop with itself and let it through.
-- To accept a real change, run once with a wider bound (QUALITY_VOLUME_MAX_DROP_PCT=100).
--
-- Idempotent: verify_all.sh runs it before every verification.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE IF NOT EXISTS ops.quality_volume_history (
    dataset     text        NOT NULL,           -- schema.table, e.g. raw.tracks
    row_count   bigint      NOT NULL,
    accepted    boolean     NOT NULL,           -- the dataset's contract passed (warnings allowed)
    recorded_at timestamptz NOT NULL DEFAULT now(),
    run_id      text                            -- MELTANO_RUN_ID when run by Meltano
);
CREATE INDEX IF NOT EXISTS quality_volume_history_dataset_idx
    ON ops.quality_volume_history (dataset, recorded_at DESC);

-- One row: the dataset, its last accepted count, its count now, the change in percent.
-- change_pct is NULL when there is no accepted baseline yet (first run) or it was 0,
-- so the checks' `change_pct < -bound` / `> bound` filters pass on a first run.
CREATE OR REPLACE FUNCTION ops.quality_volume_change(p_dataset text)
RETURNS TABLE (dataset text, baseline_rows bigint, baseline_at timestamptz,
               current_rows bigint, change_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    dataset := p_dataset;
    -- regclass quotes and validates the name: an unknown table is an error, not 0 rows.
    EXECUTE format('SELECT count(*) FROM %s', p_dataset::regclass) INTO current_rows;
    SELECT h.row_count, h.recorded_at INTO baseline_rows, baseline_at
    FROM ops.quality_volume_history AS h
    WHERE h.dataset = p_dataset AND h.accepted
    ORDER BY h.recorded_at DESC
    LIMIT 1;
    change_pct := round(100.0 * (current_rows - baseline_rows) / nullif(baseline_rows, 0), 2);
    RETURN NEXT;
END
$$;
