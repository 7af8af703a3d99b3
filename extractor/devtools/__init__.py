"""Tools for developers: corpus generator, fake OpenAI-compatible server."""
