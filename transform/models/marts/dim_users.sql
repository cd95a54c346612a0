-- No names or email here: marts are read by the recommender and analysts, so a person is
-- only a pseudonymous key (see int_users_pseudonymised; identifiers are in pii.users).
with users as (
    select * from {{ ref('int_users_pseudonymised') }}
)

select
    user_id::bigint as user_id,
    user_key::text as user_key,
    gender::text as gender,
    favorite_genre::text as favorite_genre,
    created_at::timestamptz as created_at,
    updated_at::timestamptz as updated_at
from users
