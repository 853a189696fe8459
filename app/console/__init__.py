"""The support team's web console at /admin: dashboard, conversations, tickets, hit-testing, the
curation queue and the curated knowledge (server-rendered pages, every asset served here)."""
