"""Reports over the stored calls, Asterisk's queue_log, and the figures they share."""
