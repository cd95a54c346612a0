select
    track_id::bigint as track_id,
    track_name::text as track_name,
    artist::text as artist,
    songwriters::text as songwriters,
    album::text as album,
    genre::text as genre,
    duration_seconds::integer as duration_seconds,
    created_at::timestamptz as created_at,
    updated_at::timestamptz as updated_at
from {{ ref('stg_tracks') }}
