"""`certwright diagnose HOST[:PORT]`: the TLS runbook as a command (connect, check, render)."""
