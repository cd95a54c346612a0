-- The operations schema: the supervisor's run ledger and the people erased.
--
--   ops.pipeline_runs     one row per run: start, end, duration, status, error
--   ops.pipeline_steps    one row per step of a run: the same, plus the exit code
--   ops.pipeline_figures  the steps' own figures, long format (run, step, subject, metric)
--   ops.pipeline_health   each key metric of the run against its threshold
--   ops.run_lease         the job an orchestrator holds between two of its tasks
--   ops.erased_users      who was erased (transform/macros/erasure.sql keeps them out)
--
-- Long format for the figures: a new figure (a new stream, a new Soda check) needs no
-- migration, and the health report and the thresholds read them all the same way.
-- Created as the schema's writer, so that dbt's models beside them share one owner.
set local role transformer;

create table if not exists ops.pipeline_runs (
    run_id text primary key,
    job text not null,
    environment text not null,
    host text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    duration_s double precision,
    status text not null check (status in ('running', 'success', 'failed', 'aborted')),
    failed_step text,
    error text,
    log_path text
);

create table if not exists ops.pipeline_steps (
    run_id text not null references ops.pipeline_runs on delete cascade,
    step_index integer not null,
    step text not null,
    task text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    duration_s double precision,
    status text not null check (status in ('running', 'success', 'failed', 'aborted')),
    exit_code integer,
    error text,
    primary key (run_id, step)
);

create table if not exists ops.pipeline_figures (
    run_id text not null references ops.pipeline_runs on delete cascade,
    step text not null,
    subject text not null,
    metric text not null,
    value double precision,
    detail text,
    primary key (run_id, step, subject, metric)
);

create table if not exists ops.run_lease (
    job text primary key,
    run_id text not null,
    expires_at timestamptz not null
);

create table if not exists ops.pipeline_health (
    run_id text not null references ops.pipeline_runs on delete cascade,
    metric text not null,
    subject text not null,
    value double precision,
    threshold double precision,
    breached boolean not null,
    message text not null,
    primary key (run_id, metric, subject)
);

create table if not exists ops.erased_users (
    user_id bigint primary key,
    erased_at timestamptz not null
);

-- The model's figures were once copied here; their one home is ml.training_runs now.
delete from ops.pipeline_figures where subject = 'model';
