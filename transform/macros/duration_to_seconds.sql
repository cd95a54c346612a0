{#- The API sends durations as 'MM:SS' text; anything else becomes null (and is caught
    by the not_null test) rather than failing the whole build on one bad row. -#}
{% macro duration_to_seconds(column) -%}
    case
        when {{ column }} ~ '^[0-9]{1,2}:[0-5][0-9]$'
        then split_part({{ column }}, ':', 1)::integer * 60 + split_part({{ column }}, ':', 2)::integer
    end
{%- endmacro %}
