"""The composition root: the `askdesk` command and the service wiring. It imports app/, ingest/,
serving/ and evals/; none of them imports it."""
