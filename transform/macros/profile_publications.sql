{#- The profile of the published lists counts each publication once, when it is new: the
    rows of ml.user_recommendations stamped after the last publication profiled. The
    recommender replaces the whole table at each run, so this is the whole table on the
    first profile after a run, and nothing on a second one. -#}
{% macro after_last_profiled_publication(column) -%}
    {{ column }} > (select coalesce(max(generated_at), '-infinity'::timestamptz) from {{ this }})
{%- endmacro %}

{#- The model_version the recommender stamps on popularity lists, served to everyone when
    there is no champion (POPULARITY_VERSION, ml/recommender/pipeline.py). -#}
{% macro popularity_model_version() -%}
    'popularity'
{%- endmacro %}
