{#- Layers are schemas with fixed names (staging, marts), not prefixed by the target's
    schema: every reader (Soda, the recommender, analysts) finds them in the same place. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
