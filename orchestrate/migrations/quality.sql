-- The memory behind the contracts' volume checks (Soda v4 keeps metric history only in
-- Soda Cloud, which this project does not use):
--   * quality.volume_history: one row per (verification, dataset) with the row count and
--     whether that dataset's contract passed (`accepted`); quality/volume/record.py
--     writes it after each contract.
--   * quality.volume_change(dataset): the current row count against the last ACCEPTED
--     count. A contract's volume checks select from it (failed_rows checks).
--   * quality.duplicate_keys(dataset, columns): the keys held twice, for the key checks
--     of the big marts (below).
-- The baseline is the last accepted run, not simply the last run: otherwise re-running a
-- job that a volume drop stopped would compare the drop with itself and let it through.
-- To accept a real change, run once with a wider bound (QUALITY_VOLUME_GATE_DROP_PCT=100).
set local role quality;

create table if not exists quality.volume_history (
    dataset     text        not null,           -- schema.table, e.g. raw.tracks
    row_count   bigint      not null,
    accepted    boolean     not null,           -- the dataset's contract passed (warnings allowed)
    recorded_at timestamptz not null default now(),
    run_id      text                            -- MELTANO_RUN_ID when run by Meltano
);
create index if not exists volume_history_dataset_idx
    on quality.volume_history (dataset, recorded_at desc);

-- One row: the dataset, its last accepted count, its count now, the change in percent.
-- change_pct is null when there is no accepted baseline yet (first run) or it was 0,
-- so the checks' `change_pct < -bound` / `> bound` filters pass on a first run.
create or replace function quality.volume_change(p_dataset text)
returns table (dataset text, baseline_rows bigint, baseline_at timestamptz,
               current_rows bigint, change_pct numeric)
language plpgsql stable as $$
begin
    dataset := p_dataset;
    -- regclass quotes and validates the name: an unknown table is an error, not 0 rows.
    execute format('select count(*) from %s', p_dataset::regclass) into current_rows;
    select h.row_count, h.recorded_at into baseline_rows, baseline_at
    from quality.volume_history as h
    where h.dataset = p_dataset and h.accepted
    order by h.recorded_at desc
    limit 1;
    change_pct := round(100.0 * (current_rows - baseline_rows) / nullif(baseline_rows, 0), 2);
    return next;
end
$$;

-- The keys of p_dataset held by more than one row: one row per such key (its values
-- joined by ', ') with its number of copies. The contracts of the marts of tens of
-- millions of rows check their key with it rather than with Soda's duplicate check, which
-- counts distinct md5 hashes of the key: a sort of every row by its hash, 234 s on the
-- 70 M listens of a 1,000,000-records day. Grouped in the order of the key's index
-- instead (hash aggregation is off for this function: it would spill tens of millions of
-- groups to disk), the same scan takes about 36 s.
create or replace function quality.duplicate_keys(p_dataset text, p_columns text[])
returns table (key_values text, copies bigint)
language plpgsql stable
set enable_hashagg = off
as $$
declare
    key_list text := (select string_agg(quote_ident(c), ', ') from unnest(p_columns) as c);
begin
    return query execute format(
        'select concat_ws(%L, %s)::text, count(*) from %s group by %s having count(*) > 1',
        ', ', key_list, p_dataset::regclass, key_list
    );
end
$$;
