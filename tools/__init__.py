"""What the agent and the investigator call: the workspace contract, guarded SQL, graph analytics,
screening, profiles and playbook retrieval. Every result is recorded in an evidence ledger."""
