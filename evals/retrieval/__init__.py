"""Retrieval eval: does playbook search put the right typology's playbook first / in the top 3?

Two query sets: `queries.jsonl` (hand-written alert texts, investigator questions and paraphrases,
each with the expected typology) and the labelled alerts of a case file (expected = the case's
typology; benign cases are left out since no playbook is "right" for them).
"""
