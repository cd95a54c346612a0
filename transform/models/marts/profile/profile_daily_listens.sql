-- One row per load day (UTC): the listens first seen that day and who they came from,
-- what a data scientist checks before trusting a model trained on them.
--
-- Incremental by day: a build recomputes the last profiled day and the days after it from
-- fct_listens' first_seen_at index, so a day is counted by the builds of that day and the
-- mart is never read whole after the first build. Like daily_volumes, a day keeps what
-- its loads brought: a history redrawn later does not rewrite the days before.
with new_listens as (
    select
        {{ utc_day('listen.first_seen_at') }} as load_date,
        listen.user_id,
        listen.track_id,
        listen.is_known_track
    from {{ ref('fct_listens') }} as listen
    {% if is_incremental() %}
    where {{ since_last_profiled_day('listen.first_seen_at') }}
    {% endif %}
)

select
    new_listens.load_date::date as load_date,
    count(*)::bigint as listens,
    count(distinct new_listens.user_id)::bigint as listeners,
    count(*) filter (where new_listens.is_known_track)::bigint as catalogued_listens,
    count(*) filter (where track.genre = listener.favorite_genre)::bigint as favourite_genre_listens
from new_listens
left join {{ ref('dim_tracks') }} as track on track.track_id = new_listens.track_id
left join {{ ref('dim_users') }} as listener on listener.user_id = new_listens.user_id
group by new_listens.load_date
