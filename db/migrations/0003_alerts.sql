-- 0003_alerts: new-article alerts (issue 6).
-- Watches keep their web-search query precompiled to tsquery (generated columns), so one
-- statement can match a new article against every watch inside PostgreSQL. Channels are
-- apprise URLs, which carry tokens and passwords: `url` is a secret, `masked` its printable
-- form. `alerts` records one alert per watch and story (the archive behind digests and the
-- Atom feed); `alert_deliveries` is the transactional outbox: one row per alert and channel,
-- written in the transaction that stores the article, claimed by drainers with a lease.
-- Nothing here depends on 0002 (stories): the story of an article is looked up at run time.

CREATE TABLE watches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    query        text NOT NULL,
    -- articles in English are searched with the english configuration, all others with simple
    query_en     tsquery GENERATED ALWAYS AS (websearch_to_tsquery('english'::regconfig, query)) STORED,
    query_simple tsquery GENERATED ALWAYS AS (websearch_to_tsquery('simple'::regconfig, query)) STORED,
    outlets      text[] NOT NULL DEFAULT '{}',  -- empty: every outlet
    language     text,                         -- prefix of articles.language ('en' matches 'en-US'); NULL: any
    mode         text NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'hourly', 'daily')),
    daily_at     time,                         -- local time of the daily digest, in time_zone
    time_zone    text NOT NULL DEFAULT 'UTC',
    -- a later original of a story already alerted on raises an alert marked 'update'
    updates      boolean NOT NULL DEFAULT false,
    source       text NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'config')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((mode = 'daily') = (daily_at IS NOT NULL))
);

CREATE TABLE watch_channels (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    watch_id bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    url      text NOT NULL,  -- secret: never printed, logged or returned by a listing query
    masked   text NOT NULL,
    UNIQUE (watch_id, url)
);

CREATE TABLE alerts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    watch_id   bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    story_id   bigint NOT NULL,  -- articles.story_id where that column exists, else the original's id
    kind       text NOT NULL CHECK (kind IN ('new', 'update')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (watch_id, article_id)
);
-- Exactly one new-story alert per watch and story, whoever stores the articles.
CREATE UNIQUE INDEX alerts_one_new_per_story ON alerts (watch_id, story_id) WHERE kind = 'new';
CREATE INDEX alerts_watch_recent_idx ON alerts (watch_id, created_at DESC);
CREATE INDEX alerts_article_idx ON alerts (article_id);

CREATE TABLE alert_deliveries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id  bigint NOT NULL REFERENCES watch_channels (id) ON DELETE CASCADE,
    -- pending -> sending (claimed, leased) -> sent; a failed send goes back to pending with a
    -- later due_at, and to failed after the last attempt; an expired lease is claimable again
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    due_at      timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    claim       uuid,
    lease_until timestamptz,
    last_error  text,  -- already scrubbed of the channel's secrets
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, channel_id)
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (due_at) WHERE status = 'pending';
CREATE INDEX alert_deliveries_lease_idx ON alert_deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX alert_deliveries_claim_idx ON alert_deliveries (claim) WHERE status = 'sending';
CREATE INDEX alert_deliveries_recent_idx ON alert_deliveries (created_at DESC);

-- When a delivery of a watch in `mode` becomes due, for an alert raised at `t`: at once, at
-- the next full hour, or at the next `daily_at` in `time_zone` (local dates, so DST holds).
CREATE FUNCTION alert_due_at(mode text, daily_at time, time_zone text, t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE mode
        WHEN 'instant' THEN t
        WHEN 'hourly' THEN date_trunc('hour', t) + interval '1 hour'
        ELSE (SELECT CASE WHEN today > t THEN today
                          ELSE (((t AT TIME ZONE time_zone)::date + 1) + daily_at) AT TIME ZONE time_zone END
              FROM (SELECT (((t AT TIME ZONE time_zone)::date) + daily_at) AT TIME ZONE time_zone AS today) AS d)
    END
$$;

-- An alert's snippet: up to two fragments of the text around the watch's terms, marked
-- **like this**, read with the configuration the article's `search` column uses.
CREATE FUNCTION alert_snippet(body text, language text, query_en tsquery, query_simple tsquery) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT ts_headline(CASE WHEN language LIKE 'en%' THEN 'english'::regconfig ELSE 'simple'::regconfig END,
                       left(body, 20000),
                       CASE WHEN language LIKE 'en%' THEN query_en ELSE query_simple END,
                       'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … ", StartSel=**, StopSel=**')
$$;
