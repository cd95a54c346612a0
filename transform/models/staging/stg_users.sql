with source as (
    {{ latest_version(source('moovitamix', 'users'), 'id') }}
),

renamed as (
    select
        -- ids
        id::bigint as user_id,
        -- strings
        first_name,
        last_name,
        email,
        gender,
        trim(favorite_genres) as favorite_genre,
        -- timestamps
        {{ as_utc('created_at') }} as created_at,
        {{ as_utc('updated_at') }} as updated_at,
        {{ load_time() }} as loaded_at
    from source
)

select * from renamed
