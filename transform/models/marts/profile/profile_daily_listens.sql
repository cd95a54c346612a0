-- One row per load day (UTC): the listens first seen that day and who they came from,
-- what a data scientist checks before trusting a model trained on them.
--
-- Running totals by day, like profile_artist_listens: a build reads only the listens first
-- seen after the last one counted (fct_listens' first_seen_at index) and adds them to their
-- day's row, so a listen is read once, however many loads its day has. Like daily_volumes,
-- a day keeps what its loads brought: a history redrawn later does not rewrite the days
-- before.
with new_listens as (
    select
        {{ utc_day('listen.first_seen_at') }} as load_date,
        listen.user_id,
        listen.track_id,
        listen.is_known_track,
        listen.first_seen_at
    from {{ ref('fct_listens') }} as listen
    {% if is_incremental() %}
    where listen.first_seen_at > {{ last_counted_listen() }}
    {% endif %}
),

listen_counts as (
    select
        new_listens.load_date,
        count(*) as listens,
        count(*) filter (where new_listens.is_known_track) as catalogued_listens,
        count(*) filter (where track.genre = listener.favorite_genre) as favourite_genre_listens
    from new_listens
    left join {{ ref('dim_tracks') }} as track on track.track_id = new_listens.track_id
    left join {{ ref('dim_users') }} as listener on listener.user_id = new_listens.user_id
    group by new_listens.load_date
),

-- A listener counts once per day: a user of the new listens adds to a day already counted
-- only without a listen of that day counted before. One probe of the user's listens each
-- (the primary key's user_id; LIMIT keeps the planner from hashing the whole day instead).
new_listeners as (
    select day_users.load_date, count(*) as listeners
    from (select distinct load_date, user_id from new_listens) as day_users
    {% if is_incremental() %}
    left join lateral (
        select true as was_counted
        from {{ ref('fct_listens') }} as earlier
        where earlier.user_id = day_users.user_id
          and earlier.first_seen_at >= day_users.load_date::timestamp at time zone 'UTC'
          and earlier.first_seen_at <= {{ last_counted_listen() }}
        limit 1
    ) as earlier on true
    where earlier.was_counted is null
    {% endif %}
    group by day_users.load_date
),

counted as (
    select listen_counts.*, coalesce(new_listeners.listeners, 0) as listeners
    from listen_counts
    left join new_listeners on new_listeners.load_date = listen_counts.load_date
)

select
    counted.load_date::date as load_date,
    {{ running_total('listens') }} as listens,
    {{ running_total('listeners') }} as listeners,
    {{ running_total('catalogued_listens') }} as catalogued_listens,
    {{ running_total('favourite_genre_listens') }} as favourite_genre_listens,
    {{ counted_through() }} as counted_through
from counted
{{ previous_totals(['load_date']) }}
