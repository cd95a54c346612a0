-- A small warehouse shaped like the agreed interfaces: raw as target-postgres lands it
-- (naive UTC timestamps, _sdc_* columns, no primary keys so the tests can break keys),
-- marts/pii/ops as dbt builds them. Every contract passes on it without a warning.
DROP SCHEMA IF EXISTS raw CASCADE;
DROP SCHEMA IF EXISTS marts CASCADE;
DROP SCHEMA IF EXISTS pii CASCADE;
DROP SCHEMA IF EXISTS ops CASCADE;
DROP SCHEMA IF EXISTS quality CASCADE;
CREATE SCHEMA raw;
CREATE SCHEMA marts;
CREATE SCHEMA pii;
CREATE SCHEMA ops;

CREATE TABLE raw.tracks (
    id bigint, name varchar, artist varchar, songwriters varchar, duration varchar,
    genres varchar, album varchar, created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_received_at timestamp, _sdc_batched_at timestamp,
    _sdc_deleted_at timestamp, _sdc_sequence bigint, _sdc_table_version bigint,
    _sdc_sync_started_at bigint
);
INSERT INTO raw.tracks (id, name, artist, songwriters, duration, genres, album,
                        created_at, updated_at, _sdc_batched_at)
SELECT id, 'so', 'Terry Ross', 'Kayla Mcguire', duration, 'ball', 'light',
       now() AT TIME ZONE 'UTC' - interval '30 days', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM (VALUES (1, '33:22'), (2, '03:05'), (3, '59:59'), (4, '00:01')) AS t (id, duration);

CREATE TABLE raw.users (
    id bigint, first_name varchar, last_name varchar, email varchar, gender varchar,
    favorite_genres varchar, created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_batched_at timestamp
);
INSERT INTO raw.users (id, first_name, last_name, email, gender, favorite_genres,
                       created_at, updated_at, _sdc_batched_at) VALUES
    (10, 'Renee', 'Garrett', 'marcus03@example.net', 'Genderfluid', 'Alternative',
     now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
    (11, 'Marc', 'Lane', 'm.lane+music@mail.example.org', 'Gender questioning', 'R&B',
     now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');

CREATE TABLE raw.listen_history (
    user_id bigint, items bigint[], created_at timestamp, updated_at timestamp,
    _sdc_extracted_at timestamp, _sdc_batched_at timestamp
);
INSERT INTO raw.listen_history (user_id, items, created_at, updated_at, _sdc_batched_at) VALUES
    (10, '{1,2,3}', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
    (11, '{2}', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');

-- Empty on a good day: the tap rejected nothing.
CREATE TABLE raw.rejected_records (
    stream varchar, record_key varchar, payload jsonb, payload_sha256 varchar, reason varchar,
    run_id varchar, rejected_at timestamp,
    _sdc_extracted_at timestamp, _sdc_batched_at timestamp
);

CREATE TABLE marts.dim_tracks (
    track_id bigint, track_name text, artist text, songwriters text, album text,
    genre text, duration_seconds integer, created_at timestamptz, updated_at timestamptz
);
INSERT INTO marts.dim_tracks VALUES
    (1, 'so', 'Terry Ross', 'Kayla Mcguire', 'light', 'ball', 2002, now(), now()),
    (2, 'so', 'Terry Ross', 'Kayla Mcguire', 'light', 'ball', 185, now(), now()),
    (3, 'so', 'Terry Ross', 'Kayla Mcguire', 'light', 'ball', 3599, now(), now()),
    (4, 'so', 'Terry Ross', 'Kayla Mcguire', NULL, 'ball', 1, now(), now());

CREATE TABLE marts.dim_users (
    user_id bigint, user_key text, gender text, favorite_genre text,
    created_at timestamptz, updated_at timestamptz
);
INSERT INTO marts.dim_users VALUES
    (10, md5('salt' || 'marcus03@example.net'), 'Genderfluid', 'Alternative', now(), now()),
    (11, md5('salt' || 'm.lane+music@mail.example.org'), 'Gender questioning', 'R&B', now(), now());

CREATE TABLE pii.users (
    user_id bigint, first_name text, last_name text, email text,
    created_at timestamptz, updated_at timestamptz
);
INSERT INTO pii.users VALUES
    (10, 'Renee', 'Garrett', 'marcus03@example.net', now(), now()),
    (11, 'Marc', 'Lane', 'm.lane+music@mail.example.org', now(), now());

-- user_id and position each repeat; only the pair is the key.
CREATE TABLE marts.fct_listens (
    user_id bigint, track_id bigint, position integer,
    history_created_at timestamptz, history_updated_at timestamptz,
    first_seen_at timestamptz, is_known_track boolean
);
INSERT INTO marts.fct_listens VALUES
    (10, 1, 1, now(), now(), now(), true),
    (10, 2, 2, now(), now(), now(), true),
    (10, 3, 3, now(), now(), now(), true),
    (11, 2, 1, now(), now(), now(), true);

CREATE TABLE marts.user_track_interactions (
    user_id bigint, track_id bigint, listen_count integer,
    first_seen_at timestamptz, last_seen_at timestamptz
);
INSERT INTO marts.user_track_interactions VALUES
    (10, 1, 1, now(), now()), (10, 2, 1, now(), now()), (10, 3, 1, now(), now()),
    (11, 2, 1, now(), now());

CREATE TABLE marts.daily_volumes (
    load_date date, entity text, row_count bigint, new_count bigint,
    updated_count bigint, conflicting_count bigint
);
INSERT INTO marts.daily_volumes VALUES
    (current_date, 'tracks', 4, 4, 0, 0),
    (current_date, 'users', 2, 2, 0, 0),
    (current_date, 'listen_history', 2, 2, 0, 0);

-- Empty on a good day: no id was redrawn.
CREATE TABLE ops.identity_conflicts (
    entity text, entity_id bigint, created_at timestamptz, updated_at timestamptz,
    loaded_at timestamptz, is_current boolean
);
