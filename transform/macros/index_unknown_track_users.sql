{#- Post-hook of fct_listens: a partial index of the users who hold a listen of an unknown
    track. The incremental build rebuilds those users every day (their track may have
    arrived); with this index finding them reads a handful of index pages instead of the
    whole mart (70 M rows at 1M records). dbt's `indexes` config cannot express a partial
    index, and a fixed name could collide with the one on the table dbt keeps as a backup
    during a full refresh: the index is created unnamed, once per table. -#}
{% macro index_unknown_track_users(relation) -%}
    do $$
    begin
        if not exists (
            select 1 from pg_index
            where indrelid = '{{ relation }}'::regclass and indpred is not null
        ) then
            create index on {{ relation }} (user_id) where not is_known_track;
        end if;
    end
    $$
{%- endmacro %}
