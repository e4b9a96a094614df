"""`sleuth chat`: an investigator's REPL over the agent, its tools and the investigation graph."""
