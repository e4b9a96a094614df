"""The Sleuth investigation agent: LangGraph graph, model backends and the command line."""
