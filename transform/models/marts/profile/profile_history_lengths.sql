-- How long the users' current listen histories are, in a few buckets: a model sees little
-- of a user with a short one. One pass over the current histories (their arrays' lengths
-- only, never exploded); a table of six rows.
with lengths as (
    select cardinality(track_ids) as history_length
    from {{ ref('listen_history_snapshot') }}
    where dbt_valid_to is null
),

buckets (min_length, max_length) as (
    values (0, 9), (10, 24), (25, 49), (50, 99), (100, 199), (200, null::integer)
)

select
    buckets.min_length::integer as min_length,
    buckets.max_length::integer as max_length,
    count(lengths.history_length)::bigint as users
from buckets
left join lengths
    on lengths.history_length >= buckets.min_length
   and (buckets.max_length is null or lengths.history_length <= buckets.max_length)
group by buckets.min_length, buckets.max_length
