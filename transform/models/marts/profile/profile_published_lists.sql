-- One row per publication of the recommender's lists: who got a list, how much of the
-- catalogue the lists use, and how many users got a list the model did not make for them
-- (cold start). Built by dbt-postgres:profile-published right after recommender:run, so the
-- marts it joins (dim_tracks, dim_users, user_track_interactions) are the ones the
-- recommender has just read.
--
-- Incremental by publication: only a publication newer than the last one profiled is read,
-- once; the marts are touched through their keys (one history probe per user with a list)
-- or counted, never scanned for their listens.
with publication as (
    select user_id, track_id, model_version, generated_at
    from {{ source('ml', 'published_recommendations') }}
    {% if is_incremental() %}
    where {{ after_last_profiled_publication('generated_at') }}
    {% endif %}
),

lists as (
    select
        generated_at,
        count(*) as recommendations,
        count(distinct track_id) as tracks_recommended,
        string_agg(distinct model_version, ', ' order by model_version) as model_version
    from publication
    group by generated_at
),

users_with_lists as (
    select
        generated_at,
        user_id,
        bool_or(model_version = {{ popularity_model_version() }}) as has_popularity_list
    from publication
    group by generated_at, user_id
),

-- A user without a listen of a catalogued track is a cold start for the recommender (it
-- trains on those listens only, ml/recommender/data.py): their list is the favourite
-- genre's most popular tracks. One index probe per user, stopped at the first such listen.
listed_users as (
    select
        listed.generated_at,
        count(*) as users_with_lists,
        count(*) filter (where history.has_listened is null) as users_without_history,
        count(*) filter (where listed.has_popularity_list) as users_with_popularity_lists,
        count(*) filter (where history.has_listened is null or listed.has_popularity_list) as cold_start_users
    from users_with_lists as listed
    left join lateral (
        select true as has_listened
        from {{ ref('user_track_interactions') }} as interaction
        inner join {{ ref('dim_tracks') }} as track on track.track_id = interaction.track_id
        where interaction.user_id = listed.user_id
        limit 1
    ) as history on true
    group by listed.generated_at
),

catalogue as (
    select count(*) as catalogue_tracks from {{ ref('dim_tracks') }}
),

known_users as (
    select count(*) as known_users from {{ ref('dim_users') }}
)

select
    lists.generated_at::timestamptz as generated_at,
    lists.model_version::text as model_version,
    known_users.known_users::bigint as known_users,
    users.users_with_lists::bigint as users_with_lists,
    lists.recommendations::bigint as recommendations,
    lists.tracks_recommended::bigint as tracks_recommended,
    catalogue.catalogue_tracks::bigint as catalogue_tracks,
    (lists.tracks_recommended::double precision / nullif(catalogue.catalogue_tracks, 0))::double precision
        as catalogue_coverage,
    users.users_without_history::bigint as users_without_history,
    users.users_with_popularity_lists::bigint as users_with_popularity_lists,
    users.cold_start_users::bigint as cold_start_users,
    (users.cold_start_users::double precision / users.users_with_lists)::double precision as cold_start_share
from lists
inner join listed_users as users on users.generated_at = lists.generated_at
cross join catalogue
cross join known_users
