-- One row per publication of the recommender's lists: who got a list, how much of the
-- catalogue the lists use, and how many users got a list the model did not make for them
-- (cold start). Built by dbt-postgres:profile-published right after recommender:run, so the
-- marts it joins (dim_tracks, dim_users, user_track_interactions) are the ones the
-- recommender has just read.
--
-- Incremental by publication: only a publication newer than the last one profiled is read,
-- once, in one pass (10 M rows at 1,000,000 users); the marts are counted or probed through
-- their keys, never scanned for their listens.
with publication as (
    select user_id, rank, track_id, model_version, generated_at
    from {{ source('ml', 'published_recommendations') }}
    {% if is_incremental() %}
    where {{ after_last_profiled_publication('generated_at') }}
    {% endif %}
),

-- A list starts at rank 1 (the key is user_id, rank): the rank-1 slot stands for its user,
-- so users are counted without grouping the slots by user. A user without a listen of a
-- catalogued track is a cold start for the recommender (it trains on those listens only,
-- ml/recommender/data.py) and gets their favourite genre's most popular tracks: one index
-- probe per user (the rank-1 slot's; LIMIT keeps the planner from hashing every
-- interaction instead), stopped at the first such listen.
slots as (
    select
        publication.generated_at,
        publication.track_id,
        publication.model_version,
        publication.rank = 1 as opens_a_list,
        history.has_listened is not null as user_has_history
    from publication
    left join lateral (
        select true as has_listened
        from {{ ref('user_track_interactions') }} as interaction
        inner join {{ ref('dim_tracks') }} as track on track.track_id = interaction.track_id
        where publication.rank = 1
          and interaction.user_id = publication.user_id
        limit 1
    ) as history on true
),

-- The slots grouped by track (at most one group per track of the catalogue): every figure
-- below is a sum of these groups, and the distinct tracks need no sort of the slots.
per_track as (
    select
        generated_at,
        model_version,
        track_id,
        count(*) as slots,
        count(*) filter (where opens_a_list) as lists,
        count(*) filter (where opens_a_list and not user_has_history) as lists_without_history
    from slots
    group by generated_at, model_version, track_id
),

lists as (
    select
        generated_at,
        string_agg(distinct model_version, ', ' order by model_version) as model_version,
        sum(slots) as recommendations,
        count(distinct track_id) as tracks_recommended,
        sum(lists) as users_with_lists,
        sum(lists_without_history) as users_without_history,
        coalesce(sum(lists) filter (where model_version = {{ popularity_model_version() }}), 0)
            as users_with_popularity_lists,
        sum(case when model_version = {{ popularity_model_version() }} then lists else lists_without_history end)
            as cold_start_users
    from per_track
    group by generated_at
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
    lists.users_with_lists::bigint as users_with_lists,
    lists.recommendations::bigint as recommendations,
    lists.tracks_recommended::bigint as tracks_recommended,
    catalogue.catalogue_tracks::bigint as catalogue_tracks,
    (lists.tracks_recommended::double precision / nullif(catalogue.catalogue_tracks, 0))::double precision
        as catalogue_coverage,
    lists.users_without_history::bigint as users_without_history,
    lists.users_with_popularity_lists::bigint as users_with_popularity_lists,
    lists.cold_start_users::bigint as cold_start_users,
    (lists.cold_start_users::double precision / lists.users_with_lists)::double precision as cold_start_share
from lists
cross join catalogue
cross join known_users
