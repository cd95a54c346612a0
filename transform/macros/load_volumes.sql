{#- Per load day, what one entity's snapshot received: identities seen for the first time
    (new), new versions of a known identity (updated), and identities whose id was already
    held by another identity (conflicting: the client's application redrew the id). A
    version's load day is the day of the load that brought it (loaded_at, UTC). -#}
{% macro load_volumes(snapshot, entity, id_column) -%}
    select
        '{{ entity }}' as entity,
        (loaded_at at time zone 'UTC')::date as load_date,
        count(*) filter (where identity_version = 1 and loaded_at = id_first_loaded_at) as new_count,
        count(*) filter (where identity_version > 1) as updated_count,
        count(*) filter (where identity_version = 1 and loaded_at > id_first_loaded_at) as conflicting_count
    from (
        select
            loaded_at,
            row_number() over (
                partition by {{ id_column }}, created_at order by dbt_valid_from, loaded_at
            ) as identity_version,
            min(loaded_at) over (partition by {{ id_column }}) as id_first_loaded_at
        from {{ snapshot }}
    ) as versions
    group by load_date
{%- endmacro %}
