-- One row per load day (UTC) and genre: the listens of catalogued tracks first seen that
-- day. Running totals, like profile_artist_listens: a build counts only the listens first
-- seen after the last one counted and adds them to the day's and genre's total.
with new_listens as (
    select
        {{ utc_day('listen.first_seen_at') }} as load_date,
        listen.track_id,
        listen.first_seen_at
    from {{ ref('fct_listens') }} as listen
    where listen.is_known_track
    {% if is_incremental() %}
      and listen.first_seen_at > {{ last_counted_listen() }}
    {% endif %}
),

counted as (
    select new_listens.load_date, track.genre, count(*) as listens
    from new_listens
    inner join {{ ref('dim_tracks') }} as track on track.track_id = new_listens.track_id
    where track.genre is not null
    group by new_listens.load_date, track.genre
)

select
    counted.load_date::date as load_date,
    counted.genre::text as genre,
    {{ running_total('listens') }} as listens,
    {{ counted_through() }} as counted_through
from counted
{{ previous_totals(['load_date', 'genre']) }}
