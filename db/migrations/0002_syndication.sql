-- 0002_syndication: copy and story detection that stay cheap as the archive grows.
-- The near-duplicate check of 0001 read every article of the time window and compared its
-- text; at a million articles that is a scan per page. Instead each article gets MinHash LSH
-- band keys (crawler/minhash.py) in an indexed table, so its copies are found by index
-- probes, and originals get an event vector (crawler/stories.py) whose rare terms find the
-- other reports of the same event, grouped under `story_id`. Each article records the wire
-- service it carries. Rows archived before this migration have no keys, vectors or stories:
-- `wirewatch dedupe --rebuild` computes everything for them.

ALTER TABLE articles
    ADD COLUMN wire_service text,  -- kyodo, jiji, ap, reuters, afp (crawler/wires.py), NULL if none
    -- the story (different reports of one event) this article belongs to: the id of the
    -- story's first article. NULL while no other report joined it. A copy is in its
    -- original's story.
    ADD COLUMN story_id bigint;
CREATE INDEX articles_story_idx ON articles (story_id) WHERE story_id IS NOT NULL;

-- One row per LSH band key of an article. A newcomer's 16 keys are 16 probes of the btree;
-- (band_key, at) with article_id included answers them, window and all, from the index
-- alone. (A bigint[] column under GIN was tried first: with no useful statistics on random
-- keys the planner preferred a sequential scan up to ~50,000 rows, 30 ms at 10,000.)
CREATE TABLE article_bands (
    band_key   bigint NOT NULL,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL  -- coalesce(published_at, fetched_at): the window is checked on it
);
CREATE INDEX article_bands_key_idx ON article_bands (band_key, at) INCLUDE (article_id);
CREATE INDEX article_bands_article_idx ON article_bands (article_id);

-- Event vector of an original: term keys with their weights (term frequency and name boost,
-- before IDF, which is applied from term_df when vectors are compared).
CREATE TABLE story_vectors (
    article_id bigint PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    terms      bigint[] NOT NULL,
    weights    real[] NOT NULL,
    CHECK (cardinality(terms) = cardinality(weights))
);
CREATE INDEX story_vectors_terms_idx ON story_vectors USING gin (terms) WITH (fastupdate = off);
-- The window alone is the better path while the archive is young (see article_bands).
CREATE INDEX story_vectors_at_idx ON story_vectors (at);

-- Document frequency of every term of the originals with a vector. The row of term 0 holds
-- the number of such originals (no real term hashes to 0 in practice; crawler.stories
-- never emits it).
CREATE TABLE term_df (
    term bigint PRIMARY KEY,
    df   integer NOT NULL
);
