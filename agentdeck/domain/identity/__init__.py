"""Tenants, users and sessions: sign-in and tokens (`auth`), registration and signup requests
(`signup`, `invites`), the caller's account (`account`), tenants (`tenants`), platform
administration (`admin`), service accounts and sign-in throttling (`login_throttle`)."""
