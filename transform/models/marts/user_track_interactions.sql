-- One row per user and track: the implicit-feedback weight the recommender trains on.
--
-- Incremental by user, like fct_listens: a user is recomputed when one of their listens
-- was first seen after the last build (a grown or redrawn history). Listens of unknown
-- tracks are counted too (fct_listens keeps them): the recommender joins dim_tracks to
-- choose what it may recommend.
with listens as (
    select user_id, track_id, first_seen_at
    from {{ ref('fct_listens') }}
    {% if is_incremental() %}
    -- The new listens come from fct_listens' first_seen_at index, then those users'
    -- listens from its primary key (user_id first): the mart is never read whole.
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
-- In primary-key order: fct_listens is stored in user order, so the groups come from its
-- key index with a small sort per user (not one sort of every listen), and the key index
-- of this table grows at its right edge.
order by user_id, track_id
