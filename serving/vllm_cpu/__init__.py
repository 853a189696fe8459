"""vLLM on CPU: its own venv (``install.sh``), started as a child process (``launcher``)."""
