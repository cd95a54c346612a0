-- Who may read and write what in the warehouse: one login role per component, each schema
-- owned by the one role that writes it. Run by the warehouse's owner (the role that runs
-- migrations; it needs CREATEROLE, or the roles made beforehand by a DBA), idempotent:
-- orchestrate/roles.py applies it at every local server start and every run.
--
--   role         connects as                     reads                       writes (owns)
--   loader       target-postgres, Meltano state  raw, meltano                raw, meltano
--   transformer  dbt                             raw, the rows of            staging, snapshots, marts, pii, ops
--                                                ml.user_recommendations
--   quality      Soda contracts                  raw, marts, pii, ops        quality (its volume history)
--   ml           the recommender's job           marts                       ml
--   reader       serving API, analysts           marts, ml                   nothing
--   pii_reader   whoever may see names, e-mails  pii                         nothing
--
-- The transformer may also delete from raw: the erasure purge (transform/macros/erasure.sql)
-- takes erased people out of what the last load brought back. dbt declares the same
-- SELECT grants on the models it builds (transform/dbt_project.yml, `grants`).

do $$
declare
    component text;
begin
    foreach component in array array['loader', 'transformer', 'quality', 'ml', 'reader', 'pii_reader'] loop
        if not exists (select from pg_roles where rolname = component) then
            execute format('create role %I login', component);
        end if;
    end loop;
end
$$;

-- The owner acts for every component (migrations, erasure, the run ledger in ops).
grant loader, transformer, quality, ml, reader, pii_reader to current_user;

-- Each schema, owned by its writer; whatever an earlier version of the platform made as
-- the owner is handed over, so that the writer can replace and alter it.
do $$
declare
    writer record;
    relation record;
begin
    for writer in
        select * from (values
            ('raw', 'loader'), ('meltano', 'loader'),
            ('staging', 'transformer'), ('snapshots', 'transformer'), ('marts', 'transformer'),
            ('pii', 'transformer'), ('ops', 'transformer'),
            ('quality', 'quality'), ('ml', 'ml')
        ) as writers (schema_name, role_name)
    loop
        execute format('create schema if not exists %I authorization %I', writer.schema_name, writer.role_name);
        execute format('alter schema %I owner to %I', writer.schema_name, writer.role_name);
        for relation in
            select class.relname, class.relkind
            from pg_class as class
            join pg_namespace as namespace on namespace.oid = class.relnamespace
            where namespace.nspname = writer.schema_name
              and class.relkind in ('r', 'p', 'v', 'f')
              and pg_get_userbyid(class.relowner) <> writer.role_name
        loop
            execute format('alter table %I.%I owner to %I', writer.schema_name, relation.relname, writer.role_name);
        end loop;
        for relation in
            select routine.oid::regprocedure as signature
            from pg_proc as routine
            join pg_namespace as namespace on namespace.oid = routine.pronamespace
            where namespace.nspname = writer.schema_name
              and pg_get_userbyid(routine.proowner) <> writer.role_name
        loop
            execute format('alter routine %s owner to %I', relation.signature, writer.role_name);
        end loop;
    end loop;
end
$$;

-- Nobody but the roles below reaches the database's schemas (Postgres 15 already keeps
-- PUBLIC from creating anything in `public`).
revoke create on schema public from public;

-- Reads: on the schemas, on what they hold now, and on what their writer creates later.
grant usage on schema raw to transformer, quality;
grant select, delete on all tables in schema raw to transformer;
grant select on all tables in schema raw to quality;
alter default privileges for role loader in schema raw grant select, delete on tables to transformer;
alter default privileges for role loader in schema raw grant select on tables to quality;

grant usage on schema marts to ml, reader, quality;
grant select on all tables in schema marts to ml, reader, quality;
alter default privileges for role transformer in schema marts grant select on tables to ml, reader, quality;

grant usage on schema pii to pii_reader, quality;
grant select on all tables in schema pii to pii_reader, quality;
alter default privileges for role transformer in schema pii grant select on tables to pii_reader, quality;

grant usage on schema ops to quality;
grant select on all tables in schema ops to quality;
alter default privileges for role transformer in schema ops grant select on tables to quality;

grant usage on schema ml to reader;
grant select on all tables in schema ml to reader;
alter default privileges for role ml in schema ml grant select on tables to reader;

-- The transformer reads the published lists, and nothing else of ml, to profile them after
-- each publication (transform/models/marts/profile/profile_published_*). Not through a grant
-- on ml.user_recommendations: the recommender publishes by swapping a new table in
-- (ml/recommender/data.py), and a table's grants go with the table it replaces. Nor
-- through ml's default privileges: they would open every table ml creates (its runs, its
-- id mappings, their staging copies). A function of ml returns the rows of whichever
-- table holds the name when it is called (PL/pgSQL resolves names at each call and keeps
-- no dependency that would stop the swap's drop); the view over it is dbt's source.
grant usage on schema ml to transformer;
set role ml;
create or replace function ml.read_published_recommendations()
returns table (
    user_id bigint, rank integer, track_id bigint, score double precision, model_version text,
    generated_at timestamptz
)
language plpgsql stable security definer
-- The planner cannot see through the function: without an estimate (1,000 rows) it sorts
-- the ten rows per user that the profile groups, 10 M at 1,000,000 users, instead of hashing.
rows 10000000
set search_path = pg_catalog, pg_temp
as $$
begin
    return query
        select published.user_id, published.rank, published.track_id, published.score,
               published.model_version, published.generated_at
        from ml.user_recommendations as published;
end
$$;
create or replace view ml.published_recommendations as
    select * from ml.read_published_recommendations();
revoke all on function ml.read_published_recommendations() from public;
grant execute on function ml.read_published_recommendations() to transformer;
-- The reader reads the table itself; the view and its function are the transformer's door.
revoke all on ml.published_recommendations from reader;
grant select on ml.published_recommendations to transformer;
reset role;

-- A statement or a lock wait that outlasts these is stuck, not slow: a whole day at
-- 1,000,000 records per endpoint took 48 (day 0) and 60 minutes (day 1) in `make bench-day`,
-- every statement in it far less. A stuck step then fails, is reported, and is rerun.
alter role loader set statement_timeout = '2h';
alter role transformer set statement_timeout = '2h';
alter role quality set statement_timeout = '2h';
alter role ml set statement_timeout = '2h';
alter role loader set lock_timeout = '15min';
alter role transformer set lock_timeout = '15min';
alter role quality set lock_timeout = '15min';
alter role ml set lock_timeout = '15min';
