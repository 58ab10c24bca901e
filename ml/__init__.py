"""Predictive models: no-show risk and revenue forecasts.

Reads ``marts.*`` (through ``ml.features`` only), writes ``ml.*`` tables and versioned artifacts
under ``PMS_DATA_DIR/models``. Never imports ``ops_api``: the API reads ``ml.*`` via
``ml.scores.latest_probabilities``.
"""
