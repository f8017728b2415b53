"""The reference web service: health probes, a guarded downstream call, graceful drain."""
