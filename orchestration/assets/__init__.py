"""Assets by layer: replication (raw.*), dbt (staging → marts), ml (models, scores, forecasts)."""
