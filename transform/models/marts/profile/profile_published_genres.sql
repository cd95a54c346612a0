-- One row per publication and genre: the share of the recommended slots that go to the
-- genre's tracks, against the share of the genre in the users' own listens. Every user
-- gets a list (the recommender scores every user of dim_users), so the users' listens are
-- all the listens of catalogued tracks: their genre mix is the sum over days of
-- profile_daily_genre_listens (17 rows per load day), not a scan of the listens.
--
-- Incremental by publication, like profile_published_lists: only a new publication is
-- read, and its slots are grouped by track before they meet the catalogue.
with publication as (
    select generated_at, track_id
    from {{ source('ml', 'published_recommendations') }}
    {% if is_incremental() %}
    where {{ after_last_profiled_publication('generated_at') }}
    {% endif %}
),

slots_per_track as (
    select generated_at, track_id, count(*) as slots
    from publication
    group by generated_at, track_id
),

recommended as (
    select slots_per_track.generated_at, track.genre, sum(slots_per_track.slots) as recommended_slots
    from slots_per_track
    inner join {{ ref('dim_tracks') }} as track on track.track_id = slots_per_track.track_id
    where track.genre is not null
    group by slots_per_track.generated_at, track.genre
),

listened as (
    select genre, sum(listens) as listens
    from {{ ref('profile_daily_genre_listens') }}
    group by genre
),

-- Every genre recommended or listened to, for each publication: a genre the users listen
-- to that the lists leave out shows with no slots, and the other way round.
genres as (
    select generated_at, genre from recommended
    union
    select publications.generated_at, listened.genre
    from (select distinct generated_at from recommended) as publications
    cross join listened
)

select
    genres.generated_at::timestamptz as generated_at,
    genres.genre::text as genre,
    coalesce(recommended.recommended_slots, 0)::bigint as recommended_slots,
    (
        coalesce(recommended.recommended_slots, 0)::double precision
        / sum(coalesce(recommended.recommended_slots, 0)) over (partition by genres.generated_at)
    )::double precision as recommended_share,
    coalesce(listened.listens, 0)::bigint as listens,
    (
        coalesce(listened.listens, 0)::double precision
        / nullif(sum(coalesce(listened.listens, 0)) over (partition by genres.generated_at), 0)
    )::double precision as listen_share
from genres
left join recommended
    on recommended.generated_at = genres.generated_at
   and recommended.genre = genres.genre
left join listened on listened.genre = genres.genre
