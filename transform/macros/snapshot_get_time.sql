{#- dbt-postgres stamps snapshots with now()::timestamp (no zone), while this project's
    timestamps are timestamptz (UTC): the snapshot would mix both in dbt_valid_to when it
    closes a replaced identity, shifted by the session's time zone. Keep the zone. -#}
{% macro postgres__snapshot_get_time() -%}
    now()
{%- endmacro %}
