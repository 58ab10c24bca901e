"""No-show risk: a calibrated gradient-boosting classifier on leakage-safe booking-time features."""
