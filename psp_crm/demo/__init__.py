"""The demo world of DEMO.md: named accounts, programs, catalog and a background crowd."""
