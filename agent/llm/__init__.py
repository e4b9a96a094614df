"""Model backends: building chat models (rules / local / openai), the bundled local model
and its loopback server, the constrained next-step router for small models, and a
scripted fake model for tests. `agent.llm.models.build_chat_model` is the entry point."""
