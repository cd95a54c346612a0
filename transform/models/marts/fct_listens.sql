-- One row per item of a listen history: the history's array exploded, its order kept
-- as a 1-based position so that (user_id, position) identifies a listen.
select
    history.user_id::bigint as user_id,
    item.track_id::bigint as track_id,
    item.position::integer as position,
    history.created_at::timestamptz as history_created_at,
    history.updated_at::timestamptz as history_updated_at
from {{ ref('stg_listen_history') }} as history
cross join lateral unnest(history.track_ids) with ordinality as item (track_id, position)
