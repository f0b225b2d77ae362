-- 0012_search_candidates: every match without stepping through the largest marker, and snippets
-- anchored on a phrase (issue 7). Functions only: no table is rewritten.
--
-- A query's forms are each ANDed with their marker (archive_query, 0009): `earthquake` is
-- ('earthquak' & '~en') | ('earthquake' & '~simple') | ('earthquake' & '~cjk'). When one form holds
-- nearly the whole archive, GIN decodes that marker's posting tree (every English article) to
-- test each candidate against it: 26 ms of the 77,618 matches of `earthquake` in a million
-- articles went there (13 ms without markers). Every article carries exactly one marker, so
-- "an English article" is also "neither a simple nor a Japanese one": the rare markers, under a
-- NOT, are stepped through instead (17 ms). db/search.py names that dominant form from the
-- planner's statistics; with no dominant form (a mixed archive) the markers stay as they are.

-- The forms of a query that have lexemes ('en', 'simple', 'cjk'; a form of stop words alone
-- matches nothing), each as the tsquery it is for the articles of that form.
CREATE FUNCTION archive_forms(query text, query_cjk tsquery) RETURNS TABLE (form text, lexemes tsquery)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT f.form, f.lexemes
    FROM (VALUES ('en', websearch_to_tsquery('english'::regconfig, coalesce(query, ''))),
                 ('simple', websearch_to_tsquery('simple'::regconfig, coalesce(query, ''))),
                 ('cjk', query_cjk)) AS f(form, lexemes)
    WHERE f.lexemes IS NOT NULL AND numnode(f.lexemes) > 0
$$;

-- The GIN condition of every match of a query (search_page and story_page `bitmapped`): each form
-- without word order (phrase_free, 0010: rechecked when the query has a phrase) and restricted to
-- its articles by its marker, or for the `dominant` form by the absence of the others'.
-- archive_query's forms when all three are one and the same (0010: no marker at all).
CREATE FUNCTION archive_candidates(query text, query_cjk tsquery, dominant text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    f record;
    joined tsquery;
    arm tsquery;
BEGIN
    IF (SELECT count(*) = 3 AND count(DISTINCT lexemes::text) = 1 FROM archive_forms(query, query_cjk)) THEN
        RETURN phrase_free(query_cjk);
    END IF;
    FOR f IN SELECT * FROM archive_forms(query, query_cjk) LOOP
        arm := phrase_free(f.lexemes) && CASE
            WHEN f.form IS DISTINCT FROM dominant THEN quote_literal('~' || f.form)::tsquery
            ELSE (SELECT string_agg('!' || quote_literal('~' || other), ' & ')::tsquery
                  FROM unnest(ARRAY['en', 'simple', 'cjk']) AS other WHERE other <> f.form) END;
        joined := CASE WHEN joined IS NULL THEN arm ELSE joined || arm END;
    END LOOP;
    RETURN joined;
END
$$;

-- About `chars` characters of a text around the first of its `anchors` (lower-case) that it
-- contains, at that anchor's first occurrence, for ts_headline, which parses all it is given.
-- db/search.py lists a query's phrases first, then its words longest first: text_window (0009)
-- took the earliest of any word, and for `"bank of japan"` that was "of" (or "often") in most
-- articles, a window without the phrase, and ts_headline over the whole text after all (0.7 ms
-- each). The whole text when it is short or holds no anchor (an inflected form). Folded to lower
-- case by the "C" rules, ASCII letters only: a quarter less time than the database's rules, and
-- an anchor with another capital letter is found in the whole text by ts_headline after all.
CREATE FUNCTION text_near(body text, anchors text[], chars integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    folded text;
    found integer;
    anchor text;
BEGIN
    IF length(body) <= chars THEN
        RETURN body;
    END IF;
    folded := lower(body COLLATE "C");
    FOREACH anchor IN ARRAY coalesce(anchors, '{}') LOOP
        found := strpos(folded, anchor);
        IF found > 0 THEN
            RETURN substr(body, greatest(1, found - chars / 4), chars);
        END IF;
    END LOOP;
    RETURN body;
END
$$;

DROP FUNCTION text_window(text, text[], integer);
