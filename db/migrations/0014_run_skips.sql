-- 0014_run_skips: a crawl run counts the links it skipped and the pages it could not store (issue 19).
--
-- One malformed link in a feed (`http://example.com:99999/x`) used to end the parse of the
-- whole feed, and a page whose text PostgreSQL refused was lost on every crawl, both with the
-- run recorded as ok and 0 errors. Now each is skipped alone, logged, and counted here (and in
-- `errors`), so `wirewatch status` can show per outlet what its last run left out.

ALTER TABLE crawl_runs
    ADD COLUMN links_skipped    integer NOT NULL DEFAULT 0,  -- links no request could be made of
    ADD COLUMN pages_not_stored integer NOT NULL DEFAULT 0;  -- fetched pages whose store failed
