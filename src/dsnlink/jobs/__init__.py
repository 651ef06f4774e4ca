"""Running the pipeline's steps: the in-process runner (monoposte)."""
