"""AI providers: one protocol, the offline `local` provider, an OpenAI-compatible one."""
