{#- Generic test: no two rows share the same values of these columns (rows with a null in
    any of them are ignored, as dbt's `unique` does). Written for tables of tens of millions
    of rows: dbt's `unique` on a text concatenation of the key built and hashed a string per
    row, and a group by is planned as a hash aggregate that spills when the planner
    underestimates the number of keys; numbering the rows of each key follows the table's
    key index in order instead, whatever the estimate. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}
from (
    select
        {{ columns | join(', ') }},
        row_number() over (partition by {{ columns | join(', ') }}) as occurrence
    from {{ model }}
    where {% for column in columns %}{{ column }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
) as keyed
-- One row per duplicated key, as `unique` reports them.
where occurrence = 2
{% endtest %}
