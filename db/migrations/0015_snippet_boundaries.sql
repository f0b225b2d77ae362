-- Snippets begin at a word, not inside one ("sfer of territory", "アのラブロフ外相は"): the part of a
-- text given to ts_headline (text_near, 0012) starts after the first space past its offset, and a
-- Japanese snippet (cjk_headline, 0008) after the last clause mark (、。」 or a space) before its
-- first match, or at the match itself when there is none.

CREATE OR REPLACE FUNCTION text_near(body text, anchors text[], chars integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    folded text;
    found integer;
    anchor text;
    start integer;
    space integer;
BEGIN
    IF length(body) <= chars THEN
        RETURN body;
    END IF;
    folded := lower(body COLLATE "C");
    FOREACH anchor IN ARRAY coalesce(anchors, '{}') LOOP
        found := strpos(folded, anchor);
        IF found > 0 THEN
            start := greatest(1, found - chars / 4);
            IF start > 1 THEN
                space := strpos(substr(body, start, found - start), ' ');
                IF space > 0 THEN
                    start := start + space;
                END IF;
            END IF;
            RETURN substr(body, start, chars);
        END IF;
    END LOOP;
    RETURN body;
END
$$;

CREATE OR REPLACE FUNCTION cjk_headline(body text, terms text[], start_sel text, stop_sel text, chars integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    norm text := normalize(left(body, 20000), NFKC);
    folded text := lower(norm);
    first integer := 0;
    found integer;
    term text;
    pattern text;
    part text;
    start integer;
    lead text;
    mark integer;
BEGIN
    FOREACH term IN ARRAY coalesce(terms, '{}') LOOP
        found := strpos(folded, term);
        IF found > 0 AND (first = 0 OR found < first) THEN
            first := found;
        END IF;
    END LOOP;
    start := greatest(1, first - chars / 3);
    IF start > 1 THEN
        -- the last clause mark before the match: the snippet starts right after it
        lead := substr(norm, start, first - start);
        mark := length(lead) - length(regexp_replace(lead, '^.*[、。」）!?！？\s]', ''));
        start := CASE WHEN mark > 0 THEN start + mark ELSE first END;
    END IF;
    part := substr(norm, start, chars);
    SELECT string_agg(regexp_replace(t, '([\\^$.|?*+()\[\]{}-])', '\\\1', 'g'), '|' ORDER BY length(t) DESC)
    INTO pattern FROM unnest(terms) AS t WHERE t <> '';
    IF pattern IS NULL THEN
        RETURN part;
    END IF;
    RETURN regexp_replace(part, '(' || pattern || ')', start_sel || '\1' || stop_sel, 'gi');
END
$$;
