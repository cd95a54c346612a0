{#- raw keeps every identity of an id (key = id + created_at: the client's application
    redraws ids when it restarts). Downstream, an id means its latest loaded identity;
    the others are listed by ops.identity_conflicts. -#}
{% macro latest_version(relation, key) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key }} order by _sdc_batched_at desc, updated_at desc
            ) as version_rank
        from {{ relation }}
        where _sdc_deleted_at is null
    ) as versions
    where version_rank = 1
{%- endmacro %}
