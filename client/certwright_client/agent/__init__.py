"""`certwright agent`: keeps a host's certificates installed, the Certwright version CURRENT, like certbot + cron."""
