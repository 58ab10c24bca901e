"""What both writers share."""

# Simulated staff cannot log in: not an argon2 hash, so ops_api.security.verify_password is False.
NO_LOGIN = "!simulated-staff-account:no-login"
