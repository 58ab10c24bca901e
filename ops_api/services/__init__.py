"""The ops service layer: every business rule, used by the API routes and the simulator.

Services flush but never commit; the caller owns the transaction (one per request).
"""
