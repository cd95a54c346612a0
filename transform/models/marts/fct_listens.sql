-- One row per item of a listen history: the history's array exploded, its order kept as
-- a 1-based position so that (user_id, position) identifies a listen.
--
-- Incremental by user: a history is rebuilt whole when its current version was loaded
-- after the last build (it grew, or its id was redrawn and it may have shrunk), or when it
-- still holds a track that was unknown (the track may have arrived since). Everything is
-- read from the listen-history snapshot, never from the previous build, so a full rebuild
-- gives the same rows.
with history_versions as (
    select * from {{ ref('listen_history_snapshot') }}
),

current_histories as (
    select *
    from history_versions
    where dbt_valid_to is null
    {% if is_incremental() %}
      and (
          loaded_at > (select coalesce(max(first_seen_at), '-infinity') from {{ this }})
          or user_id in (select user_id from {{ this }} where not is_known_track)
      )
    {% endif %}
),

items as (
    select
        history.user_id,
        history.created_at,
        history.updated_at,
        item.track_id,
        item.position
    from current_histories as history
    cross join lateral unnest(history.track_ids) with ordinality as item (track_id, position)
),

-- The first version of this history identity that already had this track at this
-- position: the load that brought it is when the pipeline first saw the listen.
first_seen as (
    select
        items.user_id,
        items.position,
        min(version.loaded_at) as first_seen_at
    from items
    inner join history_versions as version
        on version.user_id = items.user_id
       and version.created_at = items.created_at
       and version.track_ids[items.position] = items.track_id
    group by items.user_id, items.position
),

tracks as (
    select track_id from {{ ref('dim_tracks') }}
)

select
    items.user_id::bigint as user_id,
    items.track_id::bigint as track_id,
    items.position::integer as position,
    items.created_at::timestamptz as history_created_at,
    items.updated_at::timestamptz as history_updated_at,
    first_seen.first_seen_at::timestamptz as first_seen_at,
    -- Kept and flagged rather than dropped: an unknown track is a data problem to see.
    (tracks.track_id is not null)::boolean as is_known_track
from items
inner join first_seen
    on first_seen.user_id = items.user_id
   and first_seen.position = items.position
left join tracks
    on tracks.track_id = items.track_id
