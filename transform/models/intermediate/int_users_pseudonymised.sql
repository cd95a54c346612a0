-- Users without direct identifiers: names and email are replaced by the pseudonymous key,
-- so that what is read from here (dim_users, the users snapshot) holds no personal data
-- in clear. The identifiers themselves live only in pii.users.
with users as (
    select * from {{ ref('stg_users') }}
),

pseudonymised as (
    select
        -- ids
        user_id,
        {{ pseudonymous_key('email') }} as user_key,
        -- strings
        gender,
        favorite_genre,
        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from users
)

select * from pseudonymised
