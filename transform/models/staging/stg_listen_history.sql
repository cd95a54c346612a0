with source as (
    {{ latest_version(source('moovitamix', 'listen_history'), 'user_id') }}
),

renamed as (
    select
        -- ids
        user_id::bigint as user_id,
        -- arrays
        items::bigint[] as track_ids,
        -- timestamps
        {{ as_utc('created_at') }} as created_at,
        {{ as_utc('updated_at') }} as updated_at,
        {{ load_time() }} as loaded_at
    from source
)

select * from renamed
