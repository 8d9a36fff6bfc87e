"""What operators need: health checks, metrics, structured logs, backups."""
