-- One row per artist: the listens of their catalogued tracks, counted once each as they
-- are first seen. A running total (the top artists), never recomputed from all listens:
-- a build counts only the listens first seen after `counted_through`, the last listen the
-- previous builds counted, and adds them to each artist's total.
with new_listens as (
    select track.artist, listen.first_seen_at
    from {{ ref('fct_listens') }} as listen
    inner join {{ ref('dim_tracks') }} as track on track.track_id = listen.track_id
    where listen.is_known_track
      and track.artist is not null
    {% if is_incremental() %}
      and listen.first_seen_at > {{ last_counted_listen() }}
    {% endif %}
),

counted as (
    select artist, count(*) as listens
    from new_listens
    group by artist
)

select
    counted.artist::text as artist,
    {{ running_total('listens') }} as listens,
    {{ counted_through() }} as counted_through
from counted
{{ previous_totals(['artist']) }}
