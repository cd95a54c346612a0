{#- When the load that brought a row started: one instant per load run (target-postgres'
    _sdc_sync_started_at, epoch milliseconds), so that everything a day's run loaded shares
    a time and "loaded after" means "loaded by a later run". _sdc_batched_at differs from
    batch to batch within one run; it stands in for rows loaded without the sync time. -#}
{% macro load_time() -%}
    coalesce(
        to_timestamp(_sdc_sync_started_at / 1000.0),
        _sdc_batched_at::timestamp at time zone 'UTC'
    )
{%- endmacro %}
