-- One row per user and track: the implicit-feedback weight the recommender trains on.
--
-- Incremental by user, like fct_listens: a user is recomputed when one of their listens
-- was first seen after the last build (a grown or redrawn history). Listens of unknown
-- tracks are counted too (fct_listens keeps them): the recommender joins dim_tracks to
-- choose what it may recommend.
with listens as (
    select * from {{ ref('fct_listens') }}
    {% if is_incremental() %}
    where user_id in (
        select user_id
        from {{ ref('fct_listens') }}
        where first_seen_at > (select coalesce(max(last_seen_at), '-infinity') from {{ this }})
    )
    {% endif %}
)

select
    user_id::bigint as user_id,
    track_id::bigint as track_id,
    count(*)::integer as listen_count,
    min(first_seen_at)::timestamptz as first_seen_at,
    max(first_seen_at)::timestamptz as last_seen_at
from listens
group by user_id, track_id
