-- The recommender's schema: its published lists, its id mappings and one row per run.
-- Created as the schema's writer, the role the recommender's job logs in with.
set local role ml;

create table if not exists ml.user_recommendations (
    user_id       bigint           not null,
    rank          int              not null check (rank >= 1),
    track_id      bigint           not null,
    score         double precision not null,
    model_version text             not null,
    generated_at  timestamptz      not null,
    primary key (user_id, rank)
);

-- The persistent id -> dense index mapping ALS trains with (ml/recommender/idmap.py): rows
-- are only ever added, so an index keeps meaning the same user or track from one day to
-- the next.
create table if not exists ml.user_index (
    user_id bigint primary key, idx integer not null unique
);
create table if not exists ml.track_index (
    track_id bigint primary key, idx integer not null unique
);

-- One row per recommender run, whatever it decided: what SQL readers need (the health
-- checks, the report, the skip rule). Every metric and parameter of a training is in its
-- MLflow run (mlflow_run_id).
create table if not exists ml.training_runs (
    run_id                text primary key,
    mlflow_run_id         text,
    started_at            timestamptz not null,
    finished_at           timestamptz,
    decision              text not null,
    reason                text,
    model_version         text,
    ndcg_at_10            double precision,
    champion_ndcg_at_10   double precision,
    popularity_ndcg_at_10 double precision,
    coverage              double precision,
    users_scored          integer,
    cold_start_users      integer,
    interactions_rows     bigint,
    data_fingerprint      text
);
-- Kept in MLflow only since: no SQL reader needs them.
alter table ml.training_runs
    drop column if exists precision_at_10,
    drop column if exists recall_at_10,
    drop column if exists map_at_10,
    drop column if exists split_method;
-- What a training judged on its hold-out: the ALS model or a popularity list, chosen on
-- a validation split (ml/recommender/search.py).
alter table ml.training_runs add column if not exists candidate text;
