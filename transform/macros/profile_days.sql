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

{#- The last listen this build counted (the newest of the model's `new_listens` CTE),
    written on every row it writes. -#}
{% macro counted_through() -%}
    (select max(first_seen_at) from new_listens)::timestamptz
{%- endmacro %}

{#- The model's own rows (`previous`) matched to the `counted` ones on ``keys``: the
    totals they already hold. Nothing on a first build. -#}
{% macro previous_totals(keys) -%}
    {%- if is_incremental() %}
left join {{ this }} as previous
    on {% for key in keys %}previous.{{ key }} = counted.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endif %}
{%- endmacro %}
