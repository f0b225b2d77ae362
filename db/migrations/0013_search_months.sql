-- 0013_search_months: the GIN index knows each article's month too (issue 7).
--
-- A window of days (0011) costs what stepping through its days' postings costs, each tested
-- against the OR of all its days: cheap for a common term, whose pool lies in the last days,
-- dear for a rarer one. `lavrov` (19,000 matches in a million articles) needs two months for its
-- pool, 180 day lexemes, and took every match instead, fetching each match's row for its date.
-- A month lexeme holds about 28,000 articles: against three of them GIN steps through the rarer
-- term's postings and skips in the months', and only the rows of the matches of those months
-- are fetched. An outlet's months ('~enm653@nhk') do the same for one outlet's half year.
--
-- `search` is dropped and added again, as in 0011 (22 minutes for a million articles).

-- The month of a moment, counted from January 1970 UTC.
CREATE FUNCTION archive_month(at timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ((extract(year FROM at AT TIME ZONE 'UTC') - 1970) * 12
            + extract(month FROM at AT TIME ZONE 'UTC') - 1)::integer
$$;

DROP INDEX articles_search_idx;
ALTER TABLE articles DROP COLUMN search;

-- 0011's tsvector with the month lexemes, alone and with the outlet ('~enm653', '~enm653@nhk').
CREATE OR REPLACE FUNCTION archive_tsvector(title text, description text, body text, language text,
                                            search_cjk tsvector, at timestamptz, outlet text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
           WHEN search_cjk IS NOT NULL THEN search_cjk
           WHEN language LIKE 'en%' THEN
               setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
               || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
               || setweight(to_tsvector('english'::regconfig, body), 'C')
           ELSE
               setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A')
               || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'B')
               || setweight(to_tsvector('simple'::regconfig, body), 'C')
           END
           || array_to_tsvector(ARRAY['~' || f.form, '~' || f.form || archive_day(at),
                                      '~' || f.form || archive_day(at) || '@' || outlet,
                                      '~' || f.form || 'm' || archive_month(at),
                                      '~' || f.form || 'm' || archive_month(at) || '@' || outlet])
    FROM (SELECT CASE WHEN search_cjk IS NOT NULL THEN 'cjk' WHEN language LIKE 'en%' THEN 'en' ELSE 'simple' END
                 AS form) f
$$;

ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS (
    archive_tsvector(title, description, text, language, search_cjk, coalesce(published_at, fetched_at), outlet)
) STORED;
CREATE INDEX articles_search_idx ON articles USING gin (search);

-- The OR of a form's day lexemes from since's day to until's, or with `months` of its month
-- lexemes from since's month to until's (one outlet's when outlet is given), as a tsquery.
DROP FUNCTION archive_window(text, tsquery, timestamptz, timestamptz, text);
DROP FUNCTION archive_days(text, timestamptz, timestamptz, text);
CREATE FUNCTION archive_periods(form text, since timestamptz, until timestamptz, outlet text, months boolean)
RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg('''' || replace(replace('~' || form || p || coalesce('@' || outlet, ''), '\', '\\'),
                                      '''', '''''') || '''', ' | ' ORDER BY p)::tsquery
    FROM (SELECT d::text AS p FROM generate_series(archive_day(since), archive_day(until)) AS d WHERE NOT months
          UNION ALL
          SELECT 'm' || m FROM generate_series(archive_month(since), archive_month(until)) AS m WHERE months) periods
$$;

-- archive_query (0009) for the articles of a window of days or months: each form of the query
-- ANDed with the OR of its periods instead of its marker (a period's lexeme names the form).
-- NULL without a window or when no form has a lexeme. IMMUTABLE: with constant arguments it is
-- computed at planning, and the GIN index sees one constant tsquery.
CREATE FUNCTION archive_window(query text, query_cjk tsquery, since timestamptz, until timestamptz, outlet text,
                               months boolean)
RETURNS tsquery LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    f record;
    joined tsquery;
    arm tsquery;
BEGIN
    IF since IS NULL OR until IS NULL THEN
        RETURN NULL;
    END IF;
    FOR f IN SELECT * FROM archive_forms(query, query_cjk) LOOP  -- 0012
        arm := f.lexemes && archive_periods(f.form, since, until, outlet, coalesce(months, false));
        joined := CASE WHEN joined IS NULL THEN arm ELSE joined || arm END;
    END LOOP;
    RETURN joined;
END
$$;

ANALYZE articles;
