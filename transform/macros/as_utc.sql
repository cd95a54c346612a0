{#- The API's timestamps carry no zone but its clock is UTC (api-contract.md). -#}
{% macro as_utc(column) -%}
    ({{ column }})::timestamp at time zone 'UTC'
{%- endmacro %}
