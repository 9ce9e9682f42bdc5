"""The engine's web side: wallboard, reports pages, /metrics, health; in its event loop."""
