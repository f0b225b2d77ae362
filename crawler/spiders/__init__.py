"""Generic spiders driven by an outlet definition: feeds, sitemaps, section pages."""
