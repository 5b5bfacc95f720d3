"""The analytics app's own rows. It never writes the pipeline's."""
