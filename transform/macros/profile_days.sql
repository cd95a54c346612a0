{#- The data profile counts by load day, the UTC date of the load that brought a row. -#}
{% macro utc_day(column) -%}
    ({{ column }} at time zone 'UTC')::date
{%- endmacro %}

{#- An incremental profile by day rebuilds its last day and the days after it: the rows
    loaded since that day began (the day may have had more loads since it was built). -#}
{% macro since_last_profiled_day(column) -%}
    {{ column }} >= (
        select coalesce(max(load_date), '-infinity'::date)::timestamp at time zone 'UTC' from {{ this }}
    )
{%- endmacro %}
