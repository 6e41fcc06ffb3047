"""Run tags that more than one stage reads or writes."""

# Set by nightly_reevaluation: model_evaluation regenerates every answer instead of serving the
# prediction cache, since the nightly run exists to notice the same model answering differently.
REFRESH_CACHE_TAG = "slm/refresh_prediction_cache"

# Who launched a run (``nightly_reevaluation``, the demo, the gate...): kept in the results history.
TRIGGER_TAG = "slm/trigger"
