{#- The data profile counts by load day, the UTC date of the load that brought a row. -#}
{% macro utc_day(column) -%}
    ({{ column }} at time zone 'UTC')::date
{%- endmacro %}

{#- The last listen an incremental profile counted: the greatest counted_through of its
    rows. Each build counts only the listens first seen after it and adds them to the
    totals it already holds, so no build re-reads a listen (an empty table counts all). -#}
{% macro last_counted_listen() -%}
    (select coalesce(max(counted_through), '-infinity'::timestamptz) from {{ this }})
{%- endmacro %}

{#- A running total's value after this build: what the build counted (the `counted` CTE)
    plus what the row already held (the model's own row, joined as `previous`). -#}
{% macro running_total(column) -%}
    {%- if is_incremental() -%}
    (counted.{{ column }} + coalesce(previous.{{ column }}, 0))::bigint
    {%- else -%}
    counted.{{ column }}::bigint
    {%- endif -%}
{%- endmacro %}
