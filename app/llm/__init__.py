"""LLM clients: OpenAI-compatible backends, request classification, routing and failover.

Pure logic (``classify``, ``policy``, ``breaker``, ``think_split``, ``types``) does no I/O; ``router`` and
``health`` talk to engines over HTTP only.
"""
