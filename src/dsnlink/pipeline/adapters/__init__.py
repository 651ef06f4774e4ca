"""The real implementations of the pipeline's ports, over the other areas of dsnlink."""
