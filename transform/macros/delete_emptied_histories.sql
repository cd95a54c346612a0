{#- Post-hook of the incremental listen marts. They replace a user's rows by user_id
    (delete+insert), which cannot remove the rows of a history that became empty or null
    (the API allows items to be null): no new row carries that user_id. This deletes them,
    so that an incremental build keeps matching a full rebuild. Only users whose current
    history is empty are touched: a cheap lookup on the relation's leading key. -#}
{% macro delete_emptied_histories(relation) -%}
    delete from {{ relation }} as target
    using {{ ref('listen_history_snapshot') }} as history
    where history.user_id = target.user_id
      and history.dbt_valid_to is null
      and coalesce(cardinality(history.track_ids), 0) = 0
{%- endmacro %}
