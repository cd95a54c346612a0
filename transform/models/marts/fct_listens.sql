-- One row per item of a listen history: the history's array exploded, its order kept as
-- a 1-based position so that (user_id, position) identifies a listen.
--
-- Incremental by user: a history is rebuilt whole when its current version was loaded
-- after the last build (it grew, or its id was redrawn and it may have shrunk), or when it
-- still holds a track that was unknown (the track may have arrived since). Everything is
-- read from the listen-history snapshot, never from the previous build, so a full rebuild
-- gives the same rows.
--
-- Written for 70 M listens (1M histories): each array is exploded once, histories are read
-- in user order through the snapshot's (user_id, created_at) index, and rows are written
-- in primary-key order: the key index then grows at its right edge (inserted in a random
-- order, it took most of a 15-minute build) and a user's listens share a few pages.
with current_histories as not materialized (
    select user_id, created_at, updated_at, loaded_at, track_ids
    from {{ ref('listen_history_snapshot') }}
    where dbt_valid_to is null
    {% if is_incremental() %}
      and (
          loaded_at > (select coalesce(max(first_seen_at), '-infinity') from {{ this }})
          -- Served by the partial index of index_unknown_track_users: no scan of the mart.
          or user_id in (select user_id from {{ this }} where not is_known_track)
      )
    {% endif %}
),

-- An item is first seen at the load of the first version of its history identity that
-- already had this track at this position. The current version has it, so that is its
-- load unless an earlier (closed) version of the same identity had it too. Per identity
-- with earlier versions, the current array is zipped with each earlier one (each array
-- read once) into one first-seen load per position: an array indexed like the history,
-- joined per history, never per item. A history with one version (all of them on the
-- first day) costs nothing here.
earlier_first_seen as (
    select
        user_id,
        created_at,
        array_agg(first_seen_at order by position) as first_seen_at_by_position
    from (
        select
            history.user_id,
            history.created_at,
            pair.position,
            min(version.loaded_at) filter (where pair.track_id = pair.earlier_track_id) as first_seen_at
        from current_histories as history
        inner join {{ ref('listen_history_snapshot') }} as version
            on version.user_id = history.user_id
           and version.created_at = history.created_at
           and version.dbt_valid_to is not null
        cross join lateral
            unnest(history.track_ids, version.track_ids) with ordinality as pair (track_id, earlier_track_id, position)
        where pair.position <= cardinality(history.track_ids)
        group by history.user_id, history.created_at, pair.position
    ) as positions
    group by user_id, created_at
),

items as (
    select
        history.user_id,
        history.created_at,
        history.updated_at,
        item.track_id,
        item.position,
        least(history.loaded_at, earlier.first_seen_at_by_position[item.position]) as first_seen_at
    from current_histories as history
    left join earlier_first_seen as earlier
        on earlier.user_id = history.user_id
       and earlier.created_at = history.created_at
    cross join lateral unnest(history.track_ids) with ordinality as item (track_id, position)
    where item.track_id is not null
)

select
    items.user_id::bigint as user_id,
    items.track_id::bigint as track_id,
    items.position::integer as position,
    items.created_at::timestamptz as history_created_at,
    items.updated_at::timestamptz as history_updated_at,
    items.first_seen_at::timestamptz as first_seen_at,
    -- Kept and flagged rather than dropped: an unknown track is a data problem to see.
    -- A hashed lookup, not a join: it keeps the rows in the order they come in.
    (items.track_id in (select track_id from {{ ref('dim_tracks') }}))::boolean as is_known_track
from items
order by items.user_id, items.position
