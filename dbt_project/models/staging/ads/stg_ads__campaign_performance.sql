with

source as (

    select * from {{ source('ads', 'campaign_performance') }}

),

renamed as (

    select
        date as date_day,
        nullif(trim(campaign_id), '') as campaign_id,
        trim(campaign_name) as campaign_name,
        trim(channel) as source_channel,
        cast(cost as {{ type_money() }}) as spend,
        impressions,
        clicks,
        cast(conversions as {{ type_money() }}) as conversions,
        cast(revenue as {{ type_money() }}) as revenue,
        upper(nullif(trim(currency), '')) as currency_code,
        _file_id,
        _line_number,
        _loaded_at
    from source

),

ranked as (

    -- the same natural key can arrive in several files (and, if the loader
    -- let it through, twice in one): the latest file, then line, wins
    select
        *,
        row_number() over (
            partition by date_day, campaign_name, source_channel
            order by _file_id desc, _line_number desc
        ) as delivery_rank
    from renamed

),

deduplicated as (

    select
        {{ generate_surrogate_key(
            ['date_day', 'campaign_name', 'source_channel']
        ) }} as campaign_performance_key,
        date_day,
        campaign_id,
        campaign_name,
        source_channel,
        spend,
        impressions,
        clicks,
        conversions,
        revenue,
        currency_code,
        _file_id,
        _line_number,
        _loaded_at
    from ranked
    where delivery_rank = 1

)

select * from deduplicated
