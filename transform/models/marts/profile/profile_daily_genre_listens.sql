-- One row per load day (UTC) and genre: the listens of catalogued tracks first seen that
-- day. Incremental by day, like profile_daily_listens (see there).
with new_listens as (
    select
        {{ utc_day('listen.first_seen_at') }} as load_date,
        listen.track_id
    from {{ ref('fct_listens') }} as listen
    where listen.is_known_track
    {% if is_incremental() %}
      and {{ since_last_profiled_day('listen.first_seen_at') }}
    {% endif %}
)

select
    new_listens.load_date::date as load_date,
    track.genre::text as genre,
    count(*)::bigint as listens
from new_listens
inner join {{ ref('dim_tracks') }} as track on track.track_id = new_listens.track_id
where track.genre is not null
group by new_listens.load_date, track.genre
