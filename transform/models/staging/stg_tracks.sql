with source as (
    {{ latest_version(source('moovitamix', 'tracks'), 'id') }}
),

renamed as (
    select
        -- ids
        id::bigint as track_id,
        -- strings
        name as track_name,
        artist,
        songwriters,
        album,
        trim(genres) as genre,
        -- numerics
        {{ duration_to_seconds('duration') }} as duration_seconds,
        -- timestamps
        {{ as_utc('created_at') }} as created_at,
        {{ as_utc('updated_at') }} as updated_at,
        {{ load_time() }} as loaded_at
    from source
)

select * from renamed
