"""The Textual app: renders engine state and turns keys into intents. Widgets never call a backend."""
