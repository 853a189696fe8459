"""Privacy: PII redaction before anything is stored or forwarded (redact.py, pure), retention and a
user's data rights (retention.py), and the append-only audit log of admin actions (audit.py)."""
