"""Investigation playbooks: schema, loader, safe check expressions, index and retrieval.

Submodules are imported directly (`tools.playbooks.load`, `tools.playbooks.retrieve`, ...) so that
importing the package never pulls in chromadb or torch; only `index` and `retrieve` touch those, and
only inside their functions.
"""
