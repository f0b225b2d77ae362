"""Discovery, fetching, extraction and deduplication of news articles."""
