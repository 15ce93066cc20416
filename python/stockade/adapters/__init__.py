"""Adapters to agent frameworks, each behind an optional extra:
``pip install stockade[langchain]`` and ``stockade[smolagents]``."""
