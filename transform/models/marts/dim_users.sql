select
    user_id::bigint as user_id,
    first_name::text as first_name,
    last_name::text as last_name,
    email::text as email,
    gender::text as gender,
    favorite_genre::text as favorite_genre,
    created_at::timestamptz as created_at,
    updated_at::timestamptz as updated_at
from {{ ref('stg_users') }}
