{#- The right to erasure (Law 25, GDPR art. 17): one person removed from every table that
    holds their data, and kept out afterwards.

    erase_user(user_id): `make erase-user USER_ID=…` (dbt run-operation). One SQL statement,
    hence one transaction: the person's rows go from raw (users, listen histories, the
    rejected records that name them), snapshots, pii, the marts and ml; the id goes into
    ops.erased_users. The marts stay consistent: every fact of the person goes with them.

    purge_erased_users(): on-run-start of every dbt command. The API may still serve an
    erased person: whatever the last extract-load brought back into raw is deleted before
    anything reads raw, so no later model, snapshot or mart sees them again. -#}

{#- The rejected records that name the person: by their key, or any id or e-mail in the payload. -#}
{% macro _names_the_person(user_id, emails) -%}
    stream in ('users', 'listen_history')
    and (record_key = '{{ user_id }}'
         or payload::jsonb ->> 'id' = '{{ user_id }}'
         or payload::jsonb ->> 'user_id' = '{{ user_id }}'
         or exists (select from {{ emails }} as known where strpos(payload, known.email) > 0))
{%- endmacro %}

{% macro purge_erased_users() -%}
    do $$
    begin
        -- ops.erased_users: orchestrate/migrations/ops.sql, applied before any run.
        if to_regclass('raw.rejected_records') is not null then
            delete from raw.rejected_records as rejected
            using ops.erased_users as erased
            where rejected.stream in ('users', 'listen_history')
              and (rejected.record_key = erased.user_id::text
                   or rejected.payload::jsonb ->> 'id' = erased.user_id::text
                   or rejected.payload::jsonb ->> 'user_id' = erased.user_id::text);
        end if;
        if to_regclass('raw.users') is not null then
            delete from raw.users where id in (select user_id from ops.erased_users);
        end if;
        if to_regclass('raw.listen_history') is not null then
            delete from raw.listen_history where user_id in (select user_id from ops.erased_users);
        end if;
    end
    $$
{%- endmacro %}

{#- The statement's parts, each named after what it counts, in the order they are printed. -#}
{% macro _erasure_counts() -%}
    {{ return(['raw_users', 'raw_listen_histories', 'raw_rejected_records', 'snapshot_user_versions',
               'snapshot_history_versions', 'pii_users', 'dim_users', 'fct_listens', 'user_track_interactions',
               'identity_conflicts', 'user_recommendations', 'ml_user_index', 'suppression_entries']) }}
{%- endmacro %}

{% macro erase_user(user_id) %}
    {%- set person = user_id | int -%}
    {%- set erasure -%}
        with emails as (
            select email from raw.users where id = {{ person }} and email is not null
            union
            select email from pii.users where user_id = {{ person }} and email is not null
        ),
        suppression_entries as (
            insert into ops.erased_users (user_id, erased_at) values ({{ person }}, now())
            on conflict (user_id) do update set erased_at = excluded.erased_at
            returning 1
        ),
        raw_rejected_records as (
            delete from raw.rejected_records where {{ _names_the_person(person, 'emails') }} returning 1
        ),
        raw_users as (delete from raw.users where id = {{ person }} returning 1),
        raw_listen_histories as (delete from raw.listen_history where user_id = {{ person }} returning 1),
        snapshot_user_versions as (delete from snapshots.users_snapshot where user_id = {{ person }} returning 1),
        snapshot_history_versions as (
            delete from snapshots.listen_history_snapshot where user_id = {{ person }} returning 1
        ),
        pii_users as (delete from pii.users where user_id = {{ person }} returning 1),
        dim_users as (delete from marts.dim_users where user_id = {{ person }} returning 1),
        fct_listens as (delete from marts.fct_listens where user_id = {{ person }} returning 1),
        user_track_interactions as (delete from marts.user_track_interactions where user_id = {{ person }} returning 1),
        identity_conflicts as (
            delete from ops.identity_conflicts where entity = 'users' and entity_id = {{ person }} returning 1
        ),
        user_recommendations as (delete from ml.user_recommendations where user_id = {{ person }} returning 1),
        ml_user_index as (delete from ml.user_index where user_id = {{ person }} returning 1)
        select
            {%- for part in _erasure_counts() %}
            (select count(*) from {{ part }}) as {{ part }}{{ "," if not loop.last }}
            {%- endfor %}
    {%- endset -%}
    {% set touched = run_query(erasure) %}
    {% do run_query('commit') %}
    {% for column in touched.columns %}
        {{ log('erased user ' ~ person ~ ': ' ~ column.name ~ '=' ~ column.values()[0], info=True) }}
    {% endfor %}
{% endmacro %}
