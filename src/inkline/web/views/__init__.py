"""UI views, one module per area. Thin: they read through selectors and write through
services."""
