-- 0004_extraction: keep everything the extractor finds, say which extractor found it, and
-- measure each crawl's extraction yield.
-- Why: analysts filter by section and tag and want the page's own image, site name and
-- declared canonical address; `wirewatch reextract` needs to know which articles an
-- extractor change touched; and a site redesign shows first as a drop in the share of
-- pages with a title, body, date or author, which `wirewatch status` compares with the
-- outlet's own history. Rows archived before this migration keep NULLs (and empty tags)
-- until `wirewatch reextract` runs over them.

ALTER TABLE articles
    ADD COLUMN section       text,
    ADD COLUMN tags          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN image_url     text,
    ADD COLUMN site_name     text,
    ADD COLUMN canonical_url text,  -- as the page declares it (articles.url is the archive's key)
    ADD COLUMN extractor     text,  -- whose text this is: 'trafilatura' or 'readability'
    ADD COLUMN extracted_at  timestamptz;  -- last (re-)extraction; NULL = at fetch, before 0004

-- Extraction yield of a run: of the pages run through the extractor, how many gave each field.
-- A skipped page (not an article, or no text found) counts in pages_extracted only.
ALTER TABLE crawl_runs
    ADD COLUMN pages_extracted integer NOT NULL DEFAULT 0,
    ADD COLUMN with_title      integer NOT NULL DEFAULT 0,
    ADD COLUMN with_body       integer NOT NULL DEFAULT 0,
    ADD COLUMN with_date       integer NOT NULL DEFAULT 0,
    ADD COLUMN with_author     integer NOT NULL DEFAULT 0;
